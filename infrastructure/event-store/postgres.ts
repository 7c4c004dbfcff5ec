import pg from 'pg';
import {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StoreUnavailableError,
  SubscribeOptions,
  Subscription,
} from '../../application/ports/event-store';
import { decideAppend, StoredRef } from './append-decision';
import { storeFailure } from './errors';
import { checkStreamId, prepareAppend, readAllWindow, readStreamWindow } from './input';
import { SubscriptionHub } from './subscriptions';

const STORE = 'PostgreSQL';

export interface PostgresEventStoreOptions {
  /** Schema that holds the store's table and function, so tenants and test files keep apart; default `qkmp`. */
  readonly schema?: string;
  /** How often subscriptions poll in case a notification was lost (ms); default 1000. */
  readonly pollIntervalMs?: number;
  /** How long to wait for a connection before the call fails with StoreUnavailableError (ms); default 5000. */
  readonly connectionTimeoutMs?: number;
  readonly maxConnections?: number;
}

/** A pool, or a client inside a transaction of the caller's. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The range of last revisions an expectation accepts; the SQL function checks the revision with it. */
export const acceptedRevisions = (expected: ExpectedRevision): { min: number; max: number } => {
  switch (expected) {
    case 'any':
      return { min: -1, max: Number.MAX_SAFE_INTEGER };
    case 'no_stream':
      return { min: -1, max: -1 };
    case 'stream_exists':
      return { min: 0, max: Number.MAX_SAFE_INTEGER };
    default:
      return { min: expected, max: expected };
  }
};

/*
 * Positions follow commit order. A sequence would not do: a transaction can take position 7,
 * stay open, and commit after another took 8 and committed; a reader that had seen 8 would
 * skip 7 for ever. So append_events first takes a transaction-scoped advisory lock, which every
 * append holds until it commits or rolls back. Positions are then assigned as max(position) + 1
 * by one transaction at a time, and PostgreSQL makes a commit visible before it releases the
 * transaction's locks, so the next writer (and any reader after it) sees every smaller position:
 * what a reader sees is always a gapless prefix. The lock also serialises the revision and
 * event-id checks, so they need no retry loop. Readers take no lock.
 *
 * The whole append is one function call, one round trip in autocommit, so the lock is held for
 * the statement and its commit only. The function writes when the revision fits and no id is
 * stored yet; otherwise it reports the facts (last revision, events already stored under the
 * batch's ids) and decideAppend, shared by every adapter, turns them into a replayed result or an
 * error. The unique index on id checks the ids during the insert, so a fresh batch costs no
 * lookups; when it fires, the exception block's rollback undoes the partial insert. `data` is
 * json, not jsonb, so it comes back exactly as it was written.
 *
 * PL/pgSQL keeps the generic plans it made on its first calls, when the table may hold a handful
 * of rows and no statistics; a plan chosen then must stay good at millions of rows. `id = ANY(ids)`
 * gets a seq scan on a young table (and keeps it), so the id lookup probes the unique index once
 * per id through a correlated subquery: a probe beats a scan per id at every table size.
 */
const schemaSql = (schema: string): string => `
  SELECT pg_advisory_xact_lock(hashtext('qkmp event store schema'));
  CREATE SCHEMA IF NOT EXISTS "${schema}";
  CREATE TABLE IF NOT EXISTS "${schema}".events (
    position  bigint PRIMARY KEY,
    stream_id text   NOT NULL,
    revision  bigint NOT NULL,
    id        text   NOT NULL UNIQUE,
    type      text   NOT NULL,
    data      json   NOT NULL,
    metadata  json   NOT NULL,
    UNIQUE (stream_id, revision)
  );
  CREATE OR REPLACE FUNCTION "${schema}".append_events(
    p_stream text, p_min bigint, p_max bigint, p_ids text[], p_types text[], p_data json, p_metadata json,
    OUT actual_revision bigint, OUT head_position bigint, OUT stored json
  ) LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM pg_advisory_xact_lock('"${schema}".events'::regclass::oid::bigint);
    SELECT coalesce(max(e.revision), -1) INTO actual_revision FROM "${schema}".events e WHERE e.stream_id = p_stream;
    IF actual_revision BETWEEN p_min AND p_max THEN
      BEGIN
        SELECT coalesce(max(e.position), 0) INTO head_position FROM "${schema}".events e;
        INSERT INTO "${schema}".events (position, stream_id, revision, id, type, data, metadata)
          SELECT head_position + n.i, p_stream, actual_revision + n.i, n.id, n.type, n.data, n.metadata
          FROM ROWS FROM (unnest(p_ids), unnest(p_types), json_array_elements(p_data), json_array_elements(p_metadata))
            WITH ORDINALITY AS n(id, type, data, metadata, i);
        PERFORM pg_notify('${schema}', '');
        RETURN;
      EXCEPTION WHEN unique_violation THEN
        head_position := NULL; -- an id is stored already; the block's rollback undid the insert
      END;
    END IF;
    SELECT json_agg(ref) INTO stored FROM (
      SELECT (SELECT json_build_object('id', e.id, 'streamId', e.stream_id, 'revision', e.revision, 'position', e.position)
              FROM "${schema}".events e WHERE e.id = q.id) AS ref
      FROM unnest(p_ids) AS q(id)
    ) lookups WHERE ref IS NOT NULL;
  END
  $fn$;
`;

const COLUMNS = 'id, type, data, metadata, stream_id AS "streamId", revision, position';

/** Positions and revisions are bigint; as numbers they are exact up to 2^53, far beyond any log here. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

interface AppendRow {
  actual_revision: number;
  head_position: number | null;
  stored: StoredRef[] | null;
}

/**
 * Appends through `db`. With a client inside a transaction of the caller's, the events commit
 * with it and hold the append lock until then.
 */
export const appendVia = async (
  db: Queryable,
  schema: string,
  streamId: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
): Promise<AppendResult> => {
  const prepared = prepareAppend(streamId, events, expected);
  const { min, max } = acceptedRevisions(expected);
  const ids = prepared.map((event) => event.id);
  let row: AppendRow;
  try {
    const result = await db.query<AppendRow>({
      name: `qkmp_append_${schema}`,
      text: `SELECT actual_revision, head_position, stored FROM "${schema}".append_events($1, $2, $3, $4, $5, $6, $7)`,
      // Data and metadata travel as JSON arrays joined from the serialised events: a text[] would
      // have every quote escaped by the driver and unescaped by the server (a third of the time).
      values: [
        streamId,
        min,
        max,
        ids,
        prepared.map((event) => event.type),
        `[${prepared.map((event) => event.data).join(',')}]`,
        `[${prepared.map((event) => event.metadata).join(',')}]`,
      ],
      types, // the caller's client may parse int8 as strings
    });
    row = result.rows[0];
  } catch (error) {
    throw storeFailure(STORE, error);
  }
  if (row.head_position !== null) {
    return { nextRevision: row.actual_revision + prepared.length, position: row.head_position + prepared.length };
  }
  const replayed = decideAppend(streamId, ids, expected, row.actual_revision, row.stored ?? []);
  if (replayed) return replayed;
  throw new StoreUnavailableError(STORE, new Error(`"${schema}".append_events refused an append that fits`));
};

/**
 * An event store in PostgreSQL. Tables and function are created on first use. Subscriptions are
 * woken by LISTEN/NOTIFY, with a poll in case the listening connection is down.
 */
export class PostgresEventStore implements EventStore {
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly clientConfig: pg.ClientConfig;
  private readonly hub: SubscriptionHub;
  private schemaReady?: Promise<void>;
  private listener?: Promise<pg.Client | undefined>;
  private closed = false;

  constructor(connectionString: string, options: PostgresEventStoreOptions = {}) {
    this.schema = options.schema ?? 'qkmp';
    if (!SCHEMA_NAME.test(this.schema)) {
      throw new TypeError('schema must be a lowercase SQL identifier: a letter or _, then up to 62 letters, digits or _');
    }
    this.clientConfig = { connectionString, connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000, types };
    this.pool = new pg.Pool({ ...this.clientConfig, max: options.maxConnections ?? 10 });
    // An idle connection that breaks is dropped by the pool; the next query reports the outage.
    this.pool.on('error', () => undefined);
    this.hub = new SubscriptionHub(async (after, maxCount) => {
      await this.listen();
      return this.readAll({ after, maxCount });
    }, options.pollIntervalMs ?? 1000);
  }

  async append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    await this.ready();
    const result = await appendVia(this.pool, this.schema, streamId, events, expected);
    this.hub.notify();
    return result;
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    checkStreamId(streamId);
    const window = readStreamWindow(options);
    return this.rows(
      'read_stream',
      `SELECT ${COLUMNS} FROM "${this.schema}".events WHERE stream_id = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
      [streamId, window.from, window.maxCount ?? null],
    );
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    const window = readAllWindow(options);
    return this.rows(
      'read_all',
      `SELECT ${COLUMNS} FROM "${this.schema}".events WHERE position > $1 ORDER BY position LIMIT $2`,
      [window.from, window.maxCount ?? null],
    );
  }

  subscribe(options: SubscribeOptions): Subscription {
    readAllWindow({ after: options.after });
    return this.hub.subscribe(options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.hub.closeAll();
    const listener = await this.listener;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  /** Rows come back in RecordedEvent's shape: the driver parses json, and int8 is parsed as a number. */
  private async rows(name: string, text: string, values: unknown[]): Promise<RecordedEvent[]> {
    await this.ready();
    try {
      return (await this.pool.query<RecordedEvent>({ name: `qkmp_${name}_${this.schema}`, text, values })).rows;
    } catch (error) {
      throw storeFailure(STORE, error);
    }
  }

  private ready(): Promise<void> {
    this.schemaReady ??= this.pool.query(schemaSql(this.schema)).then(
      () => undefined,
      (error: unknown) => {
        this.schemaReady = undefined;
        throw storeFailure(STORE, error);
      },
    );
    return this.schemaReady;
  }

  /** Connects the LISTEN connection unless it is up. Never fails: polling covers a missing one. */
  private listen(): Promise<unknown> {
    if (this.closed) return Promise.resolve();
    this.listener ??= this.connectListener();
    return this.listener;
  }

  private async connectListener(): Promise<pg.Client | undefined> {
    const client = new pg.Client(this.clientConfig);
    client.on('notification', () => this.hub.notify());
    const drop = (): void => {
      this.listener = undefined;
      void client.end().catch(() => undefined);
    };
    client.on('error', drop);
    try {
      await client.connect();
      await client.query(`LISTEN "${this.schema}"`);
      return client;
    } catch {
      drop();
      return undefined;
    }
  }
}
