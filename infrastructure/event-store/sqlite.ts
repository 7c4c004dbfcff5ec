import Database from 'better-sqlite3';
import {
  AppendResult,
  ChainReport,
  EventIdConflictError,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  revisionMatches,
  SubscribeOptions,
  Subscription,
  VerifyChainOptions,
  WrongExpectedRevisionError,
} from '../../application/ports/event-store';
import { decideAppend, StoredRef } from './append-decision';
import { AuditChain, ChainKeyMissingError, ChainRow } from './chain';
import { storeFailure } from './errors';
import { checkStreamId, prepareAppend, readAllWindow, readStreamWindow, SerializedEvent, Window } from './input';
import { StoredRow, toRecordedEvent } from './stored-row';
import { SubscriptionHub } from './subscriptions';
import { createOwnerOnly } from '../owner-only-file';

const STORE = 'SQLite';

export interface SqliteEventStoreOptions {
  /**
   * How often the store asks SQLite whether another connection (another process) committed, while
   * anyone subscribes (ms); default 20. The question reads a counter, not the log.
   */
  readonly pollIntervalMs?: number;
  /** How long an append waits for another process's write lock before giving up (ms); default 5000. */
  readonly busyTimeoutMs?: number;
  /** The master key's 'audit-chain/v1' subkey; without it events are stored unsealed. */
  readonly chainKey?: Buffer;
}

/**
 * Durability: WAL with synchronous=FULL syncs the log on every commit. NORMAL would only sync at
 * checkpoints, so a power cut could undo appends that were already acknowledged; a charge could
 * then be forgotten after its key left the platform, and that key issued twice. Invariant 1 rules
 * that out, so FULL it is.
 */
export const SQLITE_PRAGMAS = ['journal_mode = WAL', 'synchronous = FULL'] as const;

// Positions are the rowid: SQLite has one writer at a time and rolled-back rows leave no trace, so
// positions are contiguous and follow commit order. `chain` seals each event (see chain.ts); it is
// null for events written without the key, and in files made before the chain existed.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position  INTEGER PRIMARY KEY,
    stream_id TEXT    NOT NULL,
    revision  INTEGER NOT NULL,
    id        TEXT    NOT NULL UNIQUE,
    type      TEXT    NOT NULL,
    data      TEXT    NOT NULL,
    metadata  TEXT    NOT NULL,
    chain     BLOB,
    UNIQUE (stream_id, revision)
  ) STRICT;
`;

const COLUMNS = 'id, type, data, metadata, stream_id, revision, position';

/** An event store in one SQLite file, the embedded default. Several processes may share the file. */
export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly lastRevision: Database.Statement<[string], { revision: number | null }>;
  private readonly head: Database.Statement<[], { position: number; chain: Buffer | null }>;
  private readonly findIds: Database.Statement<[string], StoredRef>;
  private readonly insert: Database.Statement<[number, string, number, string, string, string, string, Buffer | null]>;
  private readonly streamRows: ByLimit<[string, number], StoredRow>;
  private readonly rowsAfter: ByLimit<[number], StoredRow>;
  private readonly chainRowsAfter: ByLimit<[number], ChainRow>;
  private readonly chain?: AuditChain;
  /** A lone append in a transaction of its own: a savepoint made 100-event appends some 15% slower. */
  private readonly commitOne: WriteOne;
  private readonly commitBatch: (batch: readonly Pending[]) => Outcome[];
  /** Appends waiting for the next commit, in the order they were asked for. */
  private pending: Pending[] = [];
  private readonly hub: SubscriptionHub;

  /** Opens (or creates, with its parent directory) the file and its schema. */
  constructor(
    readonly file: string,
    options: SqliteEventStoreOptions = {},
  ) {
    if (options.chainKey !== undefined) this.chain = new AuditChain(options.chainKey);
    try {
      // The log names holders, organisations and devices: a new one is its owner's alone.
      if (file !== ':memory:') createOwnerOnly(file);
      this.db = new Database(file, { timeout: options.busyTimeoutMs ?? 5000 });
      for (const pragma of SQLITE_PRAGMAS) this.db.pragma(pragma);
      this.db.exec(SCHEMA);
      this.db.transaction(addChainColumn).immediate(this.db);
      this.lastRevision = this.db.prepare('SELECT max(revision) AS revision FROM events WHERE stream_id = ?');
      this.head = this.db.prepare('SELECT position, chain FROM events ORDER BY position DESC LIMIT 1');
      this.findIds = this.db.prepare(
        'SELECT id, stream_id AS streamId, revision, position FROM events WHERE id IN (SELECT value FROM json_each(?))',
      );
      this.insert = this.db.prepare(
        'INSERT INTO events (position, stream_id, revision, id, type, data, metadata, chain) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      const db = this.db;
      this.streamRows = new ByLimit((n) =>
        db
          .prepare<[string, number], StoredRow>(`SELECT ${COLUMNS} FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision LIMIT ${n}`)
          .raw(),
      );
      this.rowsAfter = new ByLimit((n) =>
        db.prepare<[number], StoredRow>(`SELECT ${COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ${n}`).raw(),
      );
      this.chainRowsAfter = new ByLimit((n) =>
        db.prepare<[number], ChainRow>(
          'SELECT position, stream_id AS streamId, revision, id, type, data, metadata, chain FROM events ' +
            `WHERE position > ? ORDER BY position LIMIT ${n}`,
        ),
      );
    } catch (error) {
      throw storeFailure(STORE, error);
    }
    const writeOne = this.db.transaction(this.write.bind(this));
    // IMMEDIATE takes the write lock before reading any revision, so another process cannot append
    // between the checks and the writes.
    this.commitOne = writeOne.immediate;
    // Inside a batch's transaction each append is a savepoint, so a refused one leaves the others.
    this.commitBatch = this.db.transaction((batch: readonly Pending[]) => batch.map((p) => this.attempt(writeOne, p))).immediate;
    // data_version changes when another connection commits, never for this one's own commits,
    // which notify the hub themselves.
    const dataVersion = this.db.prepare<[], number>('PRAGMA data_version').pluck();
    let version = dataVersion.get();
    this.hub = new SubscriptionHub((after, maxCount) => this.readAll({ after, maxCount }), {
      watchMs: options.pollIntervalMs ?? 20,
      changed: () => version !== (version = dataVersion.get()),
    });
  }

  /**
   * Group commit: the appends asked for in one turn of the event loop are written in one
   * transaction, and one sync of the log makes them all durable before any of them is answered.
   * With synchronous=FULL a sync per append would bound every writer to one append per sync.
   */
  async append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events, expected);
    return new Promise((resolve, reject) => {
      if (this.pending.push({ streamId, events: prepared, expected, resolve, reject }) === 1) setImmediate(() => this.commit());
    });
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    checkStreamId(streamId);
    const window = readStreamWindow(options);
    return this.guard(() => this.streamRows.get(limit(window)).all(streamId, window.from).map(toRecordedEvent));
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    const window = readAllWindow(options);
    return this.guard(() => this.rowsAfter.get(limit(window)).all(window.from).map(toRecordedEvent));
  }

  async lastPosition(): Promise<number> {
    return this.guard(() => this.head.get()?.position ?? 0);
  }

  /** Each page is one statement; appends between pages only add positions after it. */
  async verifyChain(options?: VerifyChainOptions): Promise<ChainReport> {
    if (this.chain === undefined) throw new ChainKeyMissingError(STORE);
    return this.chain.verify((after, limit) => this.guard(() => this.chainRowsAfter.get(limit).all(after)), options);
  }

  subscribe(options: SubscribeOptions): Subscription {
    readAllWindow({ after: options.after });
    return this.hub.subscribe(options);
  }

  async close(): Promise<void> {
    await this.hub.closeAll();
    this.commit();
    this.db.close();
  }

  /** Commits the pending appends, then answers each; when the transaction fails, none was written. */
  private commit(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    let outcomes: Outcome[];
    try {
      outcomes = batch.length === 1 ? [this.attempt(this.commitOne, batch[0])] : this.commitBatch(batch);
    } catch (error) {
      const failure = storeFailure(STORE, error);
      for (const p of batch) p.reject(failure);
      return;
    }
    outcomes.forEach((outcome, i) =>
      'result' in outcome ? batch[i].resolve(outcome.result) : batch[i].reject(storeFailure(STORE, outcome.error)),
    );
    this.hub.notify();
  }

  /**
   * One append, in its savepoint or its own transaction. The store's refusals are that append's
   * answer; any other error (the disk, the driver) aborts the whole batch, since SQLite may have
   * rolled the whole transaction back already.
   */
  private attempt(writeOne: WriteOne, p: Pending): Outcome {
    try {
      return { result: writeOne(p.streamId, p.events, p.expected) };
    } catch (error) {
      if (isRefusal(error)) return { error };
      if ((error as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw error;
      // Its writes rolled back; stored events never change, so they can be looked up after it.
      try {
        return { result: this.refused(p.streamId, p.events, p.expected, error) };
      } catch (refusal) {
        if (isRefusal(refusal) || refusal === error) return { error: refusal };
        throw refusal;
      }
    }
  }

  /**
   * Writes at the head, under the write lock. The unique index on id checks the ids during the
   * insert, so a fresh batch costs no lookup; when it fires, append looks the ids up.
   */
  private write(streamId: string, events: readonly SerializedEvent[], expected: ExpectedRevision): AppendResult {
    const actual = this.lastRevision.get(streamId)?.revision ?? -1;
    if (!revisionMatches(expected, actual)) return this.refused(streamId, events, expected);
    const head = this.head.get();
    const start = { previous: head?.chain ?? null, streamId, position: (head?.position ?? 0) + 1, revision: actual + 1 };
    const chains = this.chain?.seal(start, events);
    events.forEach((event, i) => {
      const chain = chains?.[i] ?? null;
      this.insert.run(start.position + i, streamId, start.revision + i, event.id, event.type, event.data, event.metadata, chain);
    });
    return { nextRevision: actual + events.length, position: start.position + events.length - 1 };
  }

  /**
   * An append that could not be written as it was: decideAppend turns the stored facts into a
   * replayed result or an error. `cause` is thrown when the facts allow the append after all.
   */
  private refused(streamId: string, events: readonly SerializedEvent[], expected: ExpectedRevision, cause?: unknown): AppendResult {
    const actual = this.lastRevision.get(streamId)?.revision ?? -1;
    const ids = events.map((event) => event.id);
    const replayed = decideAppend(streamId, ids, expected, actual, this.findIds.all(JSON.stringify(ids)));
    if (replayed) return replayed;
    throw cause ?? new Error(`the append to ${streamId} was refused although its revision fits`);
  }

  private guard<T>(operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      throw storeFailure(STORE, error);
    }
  }
}

/** An append waiting for the next commit. */
interface Pending {
  readonly streamId: string;
  readonly events: readonly SerializedEvent[];
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: Error) => void;
}

type Outcome = { readonly result: AppendResult } | { readonly error: unknown };

type WriteOne = (streamId: string, events: readonly SerializedEvent[], expected: ExpectedRevision) => AppendResult;

/** The store's own answers to one append, which leave the batch's transaction as it was. */
const isRefusal = (error: unknown): boolean => error instanceof WrongExpectedRevisionError || error instanceof EventIdConflictError;

/** Files made before the chain existed get the column; their events read as unsealed. */
const addChainColumn = (db: Database.Database): void => {
  const columns = db.pragma('table_info(events)') as { name: string }[];
  if (!columns.some((column) => column.name === 'chain')) db.exec('ALTER TABLE events ADD COLUMN chain BLOB');
};

/** SQLite reads LIMIT -1 as no limit. */
const limit = (window: Window): number => window.maxCount ?? -1;

/** Distinct limits kept before the memo starts afresh; callers use a handful (page sizes, none). */
const LIMITS_KEPT = 32;

/**
 * One statement per LIMIT, written into its text. A LIMIT bound as a parameter makes every run
 * 6 to 20 µs slower here (better-sqlite3 12, SQLite 3.53) than the same statement with a literal
 * one, and every subscription read and stream load has one. The limit is a whole number (checked
 * by readAllWindow and readStreamWindow), so writing it into the SQL cannot inject anything.
 */
class ByLimit<P extends unknown[], R> {
  private readonly statements = new Map<number, Database.Statement<P, R>>();

  constructor(private readonly prepare: (limit: number) => Database.Statement<P, R>) {}

  get(limit: number): Database.Statement<P, R> {
    if (!Number.isSafeInteger(limit)) throw new RangeError(`a LIMIT must be a whole number, got ${limit}`);
    let statement = this.statements.get(limit);
    if (statement === undefined) {
      if (this.statements.size >= LIMITS_KEPT) this.statements.clear();
      statement = this.prepare(limit);
      this.statements.set(limit, statement);
    }
    return statement;
  }
}
