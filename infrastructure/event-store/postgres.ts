import pg from 'pg';
import {
  AppendResult,
  ChainReport,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StoreUnavailableError,
  SubscribeOptions,
  Subscription,
  VerifyChainOptions,
} from '../../application/ports/event-store';
import { decideAppend, StoredRef } from './append-decision';
import { AuditChain, ChainKeyMissingError, ChainRow } from './chain';
import { storeFailure } from './errors';
import { checkStreamId, prepareAppend, readAllWindow, readStreamWindow, SerializedEvent } from './input';
import { binaryArray } from './postgres-arrays';
import { SubscriptionHub } from './subscriptions';

const STORE = 'PostgreSQL';
const { TEXT, JSON: JSON_TYPE, BYTEA } = pg.types.builtins;

export interface PostgresEventStoreOptions {
  /** Schema that holds the store's table and function, so tenants and test files keep apart; default `qkmp`. */
  readonly schema?: string;
  /** How often subscriptions poll in case a notification was lost (ms); default 1000. */
  readonly pollIntervalMs?: number;
  /** How long to wait for a connection before the call fails with StoreUnavailableError (ms); default 5000. */
  readonly connectionTimeoutMs?: number;
  readonly maxConnections?: number;
  /** The master key's 'audit-chain/v1' subkey; without it events are stored unsealed. It never leaves this process. */
  readonly chainKey?: Buffer;
}

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
 * skip 7 for ever. So append_head first takes a transaction-scoped advisory lock, which every
 * append holds until it commits or rolls back. Positions are then assigned as max(position) + 1
 * by one transaction at a time, and PostgreSQL makes a commit visible before it releases the
 * transaction's locks, so the next writer (and any reader after it) sees every smaller position:
 * what a reader sees is always a gapless prefix. The lock also serialises the revision and
 * event-id checks, so they need no retry loop. Readers take no lock.
 *
 * Each event is sealed with the audit chain (chain.ts): an HMAC over the previous event's chain
 * value and this event, so it depends on the head of the log, which only the lock holder knows.
 * The database must never see the key (whoever administers it is whom the chain guards against),
 * so the chain is computed here, and append_events inserts only when the head (position and
 * chain value) and the stream's next revision are what the events were sealed against:
 *   - Fast path, one round trip in autocommit: the store remembers the head its last append
 *     left, and an exact or no_stream expectation gives the first revision, so it seals against
 *     those. Appends of one process run one after the other (the lock makes them do so anyway),
 *     so the guess holds unless another process appended meanwhile.
 *   - Locked path, when the guess missed or cannot be made ('any', 'stream_exists', first append):
 *     a transaction on one connection, BEGIN and append_head in one simple query (the lock and
 *     the facts), sealing here, append_events, COMMIT. The guess cannot miss under the lock.
 * When the revision does not fit, append_head also reports the events already stored under the
 * batch's ids, and decideAppend, shared by every adapter, turns the facts into a replayed result
 * or an error. The unique index on id checks the ids during the insert, so a fresh batch costs no
 * lookups; when it fires, the exception block's rollback undoes the partial insert and the
 * function reports the stored events instead.
 *
 * `data` is json, not jsonb, so it comes back exactly as it was written, which the chain relies on.
 * PL/pgSQL keeps the generic plans it made on its first calls, when the table may hold a handful
 * of rows and no statistics; a plan chosen then must stay good at millions of rows. `id = ANY(ids)`
 * gets a seq scan on a young table (and keeps it), so the id lookup probes the unique index once
 * per id through a correlated subquery: a probe beats a scan per id at every table size. The head
 * is read backwards on the primary key, which the planner picks even on an empty table. Both
 * reads are index probes of some 10 us: the insert is the function's cost. The batch travels as
 * arrays in PostgreSQL's binary format (postgres-arrays.ts), which cost the server what the same
 * values sent as separate parameters cost it; JSON arrays cost it a parse of the whole batch more.
 *
 * Tables made before the chain existed get the column (checked first, as ALTER TABLE locks the
 * table even when the column is there); their events read as unsealed. Functions of earlier
 * versions are dropped by signature, so a schema of any earlier version is upgraded in place on
 * first use; processes of an earlier version must not share a schema with this one.
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
    chain     bytea,
    UNIQUE (stream_id, revision)
  );
  DO $do$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_attribute
                   WHERE attrelid = '"${schema}".events'::regclass AND attname = 'chain' AND NOT attisdropped) THEN
      ALTER TABLE "${schema}".events ADD COLUMN chain bytea;
    END IF;
  END $do$;
  DROP FUNCTION IF EXISTS "${schema}".append_events(text, bigint, bigint, text[], text[], json, json);
  DROP FUNCTION IF EXISTS "${schema}".append_events(text, bigint, bigint, text[], text[], json, json, bigint, bytea, bigint, bytea[]);
  CREATE OR REPLACE FUNCTION "${schema}".stored_refs(p_ids text[]) RETURNS json LANGUAGE sql STABLE AS $fn$
    SELECT json_agg(ref) FROM (
      SELECT (SELECT json_build_object('id', e.id, 'streamId', e.stream_id, 'revision', e.revision, 'position', e.position)
              FROM "${schema}".events e WHERE e.id = q.id) AS ref
      FROM unnest(p_ids) AS q(id)
    ) lookups WHERE ref IS NOT NULL
  $fn$;
  CREATE OR REPLACE FUNCTION "${schema}".append_head(
    p_stream text, p_min bigint, p_max bigint, p_ids text[],
    OUT actual_revision bigint, OUT head_position bigint, OUT head_chain bytea, OUT stored json
  ) LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM pg_advisory_xact_lock('"${schema}".events'::regclass::oid::bigint);
    SELECT coalesce(max(e.revision), -1) INTO actual_revision FROM "${schema}".events e WHERE e.stream_id = p_stream;
    IF actual_revision BETWEEN p_min AND p_max THEN
      SELECT e.position, e.chain INTO head_position, head_chain FROM "${schema}".events e ORDER BY e.position DESC LIMIT 1;
      head_position := coalesce(head_position, 0);
    ELSE
      stored := "${schema}".stored_refs(p_ids);
    END IF;
  END
  $fn$;
  CREATE OR REPLACE FUNCTION "${schema}".append_events(
    p_stream text, p_min bigint, p_max bigint, p_ids text[], p_types text[], p_data json[], p_metadata json[],
    p_head_position bigint, p_head_chain bytea, p_revision bigint, p_chains bytea[],
    OUT actual_revision bigint, OUT head_position bigint, OUT head_chain bytea, OUT stored json, OUT written boolean
  ) LANGUAGE plpgsql AS $fn$
  BEGIN
    written := false;
    SELECT h.actual_revision, h.head_position, h.head_chain, h.stored INTO actual_revision, head_position, head_chain, stored
      FROM "${schema}".append_head(p_stream, p_min, p_max, p_ids) h;
    IF head_position IS NULL OR head_position <> p_head_position OR head_chain IS DISTINCT FROM p_head_chain
       OR actual_revision + 1 <> p_revision THEN
      RETURN; -- refused, or sealed against another head: the caller decides, or seals again
    END IF;
    BEGIN
      INSERT INTO "${schema}".events (position, stream_id, revision, id, type, data, metadata, chain)
        SELECT head_position + n.i, p_stream, actual_revision + n.i, n.id, n.type, n.data, n.metadata, n.chain
        FROM unnest(p_ids, p_types, p_data, p_metadata, p_chains) WITH ORDINALITY AS n(id, type, data, metadata, chain, i);
      PERFORM pg_notify('${schema}', '');
      written := true;
    EXCEPTION WHEN unique_violation THEN
      stored := "${schema}".stored_refs(p_ids); -- an id is stored already; the block's rollback undid the insert
    END;
  END
  $fn$;
`;

const COLUMNS = 'id, type, data, metadata, stream_id AS "streamId", revision, position';

/** Positions and revisions are bigint; as numbers they are exact up to 2^53, far beyond any log here. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** The last event of the log: where the next append's chain starts. */
interface Head {
  readonly position: number;
  readonly chain: Buffer | null;
}

interface Facts {
  actual_revision: number;
  /** Null when the revision does not fit: `stored` then holds the facts to decide with. */
  head_position: number | null;
  head_chain: Buffer | null;
  stored: StoredRef[] | null;
}

interface Attempt extends Facts {
  written: boolean;
}

/** An append's result, and the head it leaves (undefined when it wrote nothing). */
interface Outcome {
  readonly result: AppendResult;
  readonly head?: Head;
}

/** A pool (autocommit) or a client inside a transaction. */
type Queryable = Pick<pg.ClientBase, 'query'>;

/** The first revision of an append, when the expectation alone tells it. */
const firstRevision = (expected: ExpectedRevision): number | undefined =>
  typeof expected === 'number' ? expected + 1 : expected === 'no_stream' ? 0 : undefined;

/** The row a query returns; a simple query of several statements returns one result each. */
const rowOf = async <R extends pg.QueryResultRow>(db: Queryable, query: pg.QueryConfig): Promise<R> => {
  const result = (await db.query<R>({ ...query, types })) as pg.QueryResult<R> | pg.QueryResult<R>[];
  return (Array.isArray(result) ? result[result.length - 1] : result).rows[0];
};

/** What one call of append_events did: wrote, refused (decideAppend's case), or found another head. */
type Attempted =
  | { readonly kind: 'written'; readonly outcome: Outcome }
  | { readonly kind: 'refused'; readonly facts: Facts }
  | { readonly kind: 'moved'; readonly head: Head };

/**
 * One call of append_events, with the events sealed against `head` and first revision `revision`.
 * It never throws a decision, so a transaction can end before decideAppend runs.
 */
const attempt = async (
  db: Queryable,
  schema: string,
  chain: AuditChain | undefined,
  streamId: string,
  prepared: readonly SerializedEvent[],
  expected: ExpectedRevision,
  head: Head,
  revision: number,
): Promise<Attempted> => {
  const { min, max } = acceptedRevisions(expected);
  const chains = chain?.seal({ previous: head.chain, streamId, position: head.position + 1, revision }, prepared);
  const row = await rowOf<Attempt>(db, {
    name: `qkmp_append_${schema}`,
    text:
      'SELECT actual_revision, head_position, head_chain, stored, written ' +
      `FROM "${schema}".append_events($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    // Unsealed, p_chains is null: unnest pads the shorter arrays with nulls.
    values: [
      streamId,
      min,
      max,
      binaryArray(TEXT, prepared.map((event) => event.id)),
      binaryArray(TEXT, prepared.map((event) => event.type)),
      binaryArray(JSON_TYPE, prepared.map((event) => event.data)),
      binaryArray(JSON_TYPE, prepared.map((event) => event.metadata)),
      head.position,
      head.chain,
      revision,
      chains === undefined ? null : binaryArray(BYTEA, chains),
    ],
  });
  if (row.head_position === null || row.stored !== null) return { kind: 'refused', facts: row };
  if (!row.written) return { kind: 'moved', head: { position: row.head_position, chain: row.head_chain } };
  const n = prepared.length;
  return {
    kind: 'written',
    outcome: {
      result: { nextRevision: revision + n - 1, position: head.position + n },
      head: { position: head.position + n, chain: chains?.[n - 1] ?? null },
    },
  };
};

/**
 * The locked path on one connection. `own`: in a transaction of its own, begun and ended here;
 * otherwise inside the caller's, which holds the append lock until it ends. Query errors propagate
 * as they are; the caller maps them and ends a transaction they left open.
 */
const appendLocked = async (
  client: pg.ClientBase,
  schema: string,
  chain: AuditChain | undefined,
  own: boolean,
  streamId: string,
  prepared: readonly SerializedEvent[],
  expected: ExpectedRevision,
): Promise<Outcome> => {
  const { min, max } = acceptedRevisions(expected);
  const ids = prepared.map((event) => pg.escapeLiteral(event.id)).join(', ');
  const facts = await rowOf<Facts>(client, {
    text:
      `${own ? 'BEGIN; ' : ''}SELECT actual_revision, head_position, head_chain, stored ` +
      `FROM "${schema}".append_head(${pg.escapeLiteral(streamId)}, ${min}, ${max}, ARRAY[${ids}]::text[])`,
  });
  if (facts.head_position === null) {
    if (own) await client.query('ROLLBACK');
    return { result: decided(schema, streamId, prepared, expected, facts) };
  }
  const head = { position: facts.head_position, chain: facts.head_chain };
  const attempted = await attempt(client, schema, chain, streamId, prepared, expected, head, facts.actual_revision + 1);
  if (own) await client.query('COMMIT');
  switch (attempted.kind) {
    case 'written':
      return attempted.outcome;
    case 'refused':
      return { result: decided(schema, streamId, prepared, expected, attempted.facts) };
    case 'moved':
      throw new StoreUnavailableError(STORE, new Error(`the head of "${schema}".events moved while this append held its lock`));
  }
};

/** The outcome of an append the functions refused: a replayed result, or the error decideAppend throws. */
const decided = (
  schema: string,
  streamId: string,
  prepared: readonly SerializedEvent[],
  expected: ExpectedRevision,
  facts: Facts,
): AppendResult => {
  const ids = prepared.map((event) => event.id);
  const replayed = decideAppend(streamId, ids, expected, facts.actual_revision, facts.stored ?? []);
  if (replayed) return replayed;
  throw new StoreUnavailableError(STORE, new Error(`the append functions of "${schema}" refused an append that fits`));
};

export interface AppendViaOptions {
  /** The master key's 'audit-chain/v1' subkey; without it the events are stored unsealed. */
  readonly chainKey?: Buffer;
}

/**
 * Appends through a client inside a transaction of the caller's: the events commit with it, and
 * it holds the append lock (every other append waits) until then.
 */
export const appendVia = async (
  client: pg.ClientBase,
  schema: string,
  streamId: string,
  events: readonly NewEvent[],
  expected: ExpectedRevision,
  options: AppendViaOptions = {},
): Promise<AppendResult> => {
  const prepared = prepareAppend(streamId, events, expected);
  const chain = options.chainKey === undefined ? undefined : new AuditChain(options.chainKey);
  try {
    return (await appendLocked(client, schema, chain, false, streamId, prepared, expected)).result;
  } catch (error) {
    throw storeFailure(STORE, error);
  }
};

/**
 * An event store in PostgreSQL. Table and functions are created on first use. Subscriptions are
 * woken by LISTEN/NOTIFY, with a poll in case the listening connection is down.
 */
export class PostgresEventStore implements EventStore {
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly clientConfig: pg.ClientConfig;
  private readonly hub: SubscriptionHub;
  private readonly chain?: AuditChain;
  /** Where this store's last append left the log: a guess that append_events checks under the lock. */
  private head?: Head;
  private schemaReady?: Promise<void>;
  private listener?: Promise<pg.Client | undefined>;
  private closed = false;

  constructor(connectionString: string, options: PostgresEventStoreOptions = {}) {
    this.schema = options.schema ?? 'qkmp';
    if (!SCHEMA_NAME.test(this.schema)) {
      throw new TypeError('schema must be a lowercase SQL identifier: a letter or _, then up to 62 letters, digits or _');
    }
    if (options.chainKey !== undefined) this.chain = new AuditChain(options.chainKey);
    this.clientConfig = { connectionString, connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000, types };
    this.pool = new pg.Pool({ ...this.clientConfig, max: options.maxConnections ?? 10 });
    // An idle connection that breaks is dropped by the pool; the next query reports the outage.
    this.pool.on('error', () => undefined);
    this.hub = new SubscriptionHub(async (after, maxCount) => {
      await this.listen();
      return this.readAll({ after, maxCount });
    }, { pollMs: options.pollIntervalMs ?? 1000 });
  }

  async append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events, expected);
    await this.ready();
    const outcome = (await this.appendFast(streamId, prepared, expected)) ?? (await this.appendLocked(streamId, prepared, expected));
    if (outcome.head) {
      this.hub.notify();
      // Concurrent appends finish in any order: keep the furthest head.
      if (this.head === undefined || outcome.head.position > this.head.position) this.head = outcome.head;
    }
    return outcome.result;
  }

  /** The one-round-trip attempt against the remembered head; undefined when it missed or cannot be made. */
  private async appendFast(
    streamId: string,
    prepared: readonly SerializedEvent[],
    expected: ExpectedRevision,
  ): Promise<Outcome | undefined> {
    const revision = firstRevision(expected);
    if (this.head === undefined || revision === undefined) return undefined;
    let attempted: Attempted;
    try {
      attempted = await attempt(this.pool, this.schema, this.chain, streamId, prepared, expected, this.head, revision);
    } catch (error) {
      throw storeFailure(STORE, error);
    }
    switch (attempted.kind) {
      case 'written':
        return attempted.outcome;
      case 'refused':
        return { result: decided(this.schema, streamId, prepared, expected, attempted.facts) };
      case 'moved':
        this.head = attempted.head; // the log's own word, even if it went back (a deleted end)
        return undefined;
    }
  }

  private async appendLocked(streamId: string, prepared: readonly SerializedEvent[], expected: ExpectedRevision): Promise<Outcome> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw storeFailure(STORE, error);
    }
    let broken = false;
    try {
      return await appendLocked(client, this.schema, this.chain, true, streamId, prepared, expected);
    } catch (error) {
      const failure = storeFailure(STORE, error);
      // A failed query leaves the transaction open; a connection that cannot even roll back is dropped.
      if (failure instanceof StoreUnavailableError) broken = await client.query('ROLLBACK').then(() => false, () => true);
      throw failure;
    } finally {
      client.release(broken);
    }
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

  async lastPosition(): Promise<number> {
    await this.ready();
    try {
      const text = `SELECT coalesce(max(position), 0) AS position FROM "${this.schema}".events`;
      return Number((await this.pool.query<{ position: number }>({ name: `qkmp_last_position_${this.schema}`, text })).rows[0].position);
    } catch (error) {
      throw storeFailure(STORE, error);
    }
  }

  /**
   * Pages are separate statements; appends between them only add positions after the page, and
   * a reader sees a gapless prefix. data and metadata are read as their stored text.
   */
  async verifyChain(options?: VerifyChainOptions): Promise<ChainReport> {
    if (this.chain === undefined) throw new ChainKeyMissingError(STORE);
    await this.ready();
    const text =
      'SELECT position, stream_id AS "streamId", revision, id, type, data::text AS data, metadata::text AS metadata, chain ' +
      `FROM "${this.schema}".events WHERE position > $1 ORDER BY position LIMIT $2`;
    return this.chain.verify(async (after, limit) => {
      try {
        return (await this.pool.query<ChainRow>({ name: `qkmp_chain_${this.schema}`, text, values: [after, limit] })).rows;
      } catch (error) {
        throw storeFailure(STORE, error);
      }
    }, options);
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
