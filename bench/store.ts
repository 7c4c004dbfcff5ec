import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { randomBytes, randomUUID } from 'node:crypto';
import { EventStore, NewEvent } from '../application/ports/event-store';
import { PostgresEventStore } from '../infrastructure/event-store/postgres';
import { SQLITE_PRAGMAS, SqliteEventStore } from '../infrastructure/event-store/sqlite';
import { MasterKey } from '../infrastructure/keys/master-key';
import { BareRow, bareRows, compare, Plan, Result, sampleEvents, streamName } from './measure';

// Adapter throughput against the bare driver doing the same work with the same durability, one
// JSON line per measurement. The baselines write to a table with the same columns, keys and
// indexes as the adapter's, serialising data and metadata inside the timing as they must, so the
// ratio is the adapter's own cost: validation, the expected-revision and event-id checks,
// position assignment, sealing each event into the audit chain, mapping rows back. The chain
// verification line compares a full verification with the bare select of the same rows.

const BATCH_SIZE = 100;
const SINGLE: Plan = { rounds: 9, steps: 100, eventsPerStep: 1 };
// A batch round is only ten commits, so one slow fsync or GC pause moves it: 25 rounds halve the
// spread of the median between runs of one build, for some 2 s more.
const BATCH: Plan = { rounds: 25, steps: 10, eventsPerStep: BATCH_SIZE };
const READ: Plan = { rounds: 9, steps: 3, eventsPerStep: 10_000 };
const READ_COUNT = READ.eventsPerStep;

/** The stores seal with a throwaway master key's chain subkey, as the platform does with its own. */
const chainKey = MasterKey.fromBytes(randomBytes(32)).derive('audit-chain/v1');

/** One round's input: its own stream and the events to write, in single or BATCH_SIZE steps. */
interface Writes {
  readonly stream: string;
  readonly events: readonly NewEvent[];
}

const writes = (count: number) => (): Writes => ({ stream: streamName('bench'), events: sampleEvents(count) });

/** The step-th slice of a round's events and the revision the stream is at before it. */
const slice = <T>(items: readonly T[], size: number, step: number) => ({
  items: items.slice(step * size, (step + 1) * size),
  expected: step === 0 ? ('no_stream' as const) : step * size - 1,
});

const appendStep = (store: EventStore, size: number) => async (input: Writes, step: number): Promise<void> => {
  const { items, expected } = slice(input.events, size, step);
  await store.append(input.stream, items, expected);
};

/** Makes sure the store holds at least READ_COUNT events, so every readAll reads that many. */
const seedForRead = async (store: EventStore): Promise<void> => {
  const missing = READ_COUNT - (await store.readAll({ maxCount: READ_COUNT })).length;
  const input = writes(Math.ceil(missing / BATCH_SIZE) * BATCH_SIZE)();
  for (let step = 0; step * BATCH_SIZE < input.events.length; step++) await appendStep(store, BATCH_SIZE)(input, step);
};

/** A full chain verification of everything the store holds, against selecting all of it. */
const compareVerify = async (name: string, store: EventStore, selectAll: () => Promise<void>): Promise<Result> => {
  const total = (await store.readAll()).length;
  const verify = async (): Promise<void> => {
    const report = await store.verifyChain?.();
    if (report?.ok !== true || report.checked !== total) throw new Error(`${name} chain verification failed: ${JSON.stringify(report)}`);
  };
  return compare(`${name} verifyChain ${total} events`, { ...READ, steps: 1, eventsPerStep: total }, () => undefined, verify, selectAll);
};

const print = (result: Result): void => {
  console.log(JSON.stringify(result));
};

type Step = (input: Writes, step: number) => Promise<void>;

/** The bare driver's side of each measurement; `select(limit)` reads events from position 1, all when null. */
interface Baselines {
  readonly single: Step;
  readonly batch: Step;
  readonly select: (limit: number | null) => Promise<void>;
}

/** The same four measurements for every store, so their lines compare like for like. */
const measureStore = async (name: string, store: EventStore, bare: Baselines): Promise<void> => {
  print(await compare(`${name} append single event`, SINGLE, writes(100), appendStep(store, 1), bare.single));
  print(
    await compare(
      `${name} append ${BATCH_SIZE}-event batch`,
      BATCH,
      writes(BATCH.steps * BATCH_SIZE),
      appendStep(store, BATCH_SIZE),
      bare.batch,
    ),
  );
  await seedForRead(store);
  print(
    await compare(
      `${name} readAll ${READ_COUNT} events`,
      READ,
      () => undefined,
      async () => void (await store.readAll({ after: 0, maxCount: READ_COUNT })),
      () => bare.select(READ_COUNT),
    ),
  );
  print(await compareVerify(name, store, () => bare.select(null)));
};

const benchSqlite = async (): Promise<void> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-bench-'));
  const file = path.join(dir, 'bench.db');
  const store = new SqliteEventStore(file, { chainKey });
  // Its own file, so each side pays for its own WAL checkpoints; reads go to the adapter's file.
  const bare = new Database(path.join(dir, 'baseline.db'));
  const bareReader = new Database(file, { readonly: true });
  try {
    for (const pragma of SQLITE_PRAGMAS) bare.pragma(pragma);
    bare.exec(`CREATE TABLE baseline_events (
      position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, revision INTEGER NOT NULL, id TEXT NOT NULL UNIQUE,
      type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, UNIQUE (stream_id, revision)) STRICT`);
    const insert = bare.prepare(
      'INSERT INTO baseline_events (stream_id, revision, id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const insertRows = (rows: readonly BareRow[], stream: string, from: number): void => {
      rows.forEach((row, i) => insert.run(stream, from + i, row.id, row.type, row.data, row.metadata));
    };
    const insertBatch = bare.transaction(insertRows);
    const bareStep = (size: number, write: typeof insertRows) => async (input: Writes, step: number) => {
      const { items } = slice(input.events, size, step);
      write(bareRows(items), input.stream, step * size);
    };

    const select = bareReader.prepare(
      'SELECT id, type, data, metadata, stream_id, revision, position FROM events WHERE position > ? ORDER BY position LIMIT ?',
    );
    await measureStore('sqlite', store, {
      single: bareStep(1, insertRows),
      batch: bareStep(BATCH_SIZE, insertBatch),
      select: async (limit) => void select.all(0, limit ?? -1),
    });
  } finally {
    bare.close();
    bareReader.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

const benchPostgres = async (url: string): Promise<void> => {
  const schema = `qkmp_bench_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const store = new PostgresEventStore(url, { schema, chainKey });
  const pool = new pg.Pool({ connectionString: url });
  try {
    await store.readAll({ maxCount: 1 }); // creates the schema
    await pool.query(`CREATE TABLE "${schema}".baseline_events (
      position bigint PRIMARY KEY, stream_id text NOT NULL, revision bigint NOT NULL, id text NOT NULL UNIQUE,
      type text NOT NULL, data json NOT NULL, metadata json NOT NULL, UNIQUE (stream_id, revision))`);
    let position = 0;
    const columns = 7;
    const insertSql = (rows: number): string =>
      `INSERT INTO "${schema}".baseline_events (position, stream_id, revision, id, type, data, metadata) VALUES ` +
      Array.from({ length: rows }, (_, r) =>
        `(${Array.from({ length: columns }, (_, c) => `$${r * columns + c + 1}`).join(', ')})`,
      ).join(', ');
    // One multi-row INSERT: the fastest way the driver has to write a batch in one transaction.
    const bareStep = (size: number) => {
      const text = insertSql(size);
      return async (input: Writes, step: number): Promise<void> => {
        const { items } = slice(input.events, size, step);
        const values = bareRows(items).flatMap((row, i) => [
          ++position,
          input.stream,
          step * size + i,
          row.id,
          row.type,
          row.data,
          row.metadata,
        ]);
        await pool.query({ name: `bare_insert_${size}`, text, values });
      };
    };

    const select =
      `SELECT id, type, data, metadata, stream_id, revision, position FROM "${schema}".events ` +
      'WHERE position > $1 ORDER BY position LIMIT $2';
    await measureStore('postgres', store, {
      single: bareStep(1),
      batch: bareStep(BATCH_SIZE),
      select: async (limit) => void (await pool.query({ name: 'bare_select', text: select, values: [0, limit] })),
    });
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pool.end();
    await store.close();
  }
};

const main = async (): Promise<void> => {
  await benchSqlite();
  await benchPostgres(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
};

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
