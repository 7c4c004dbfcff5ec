import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { NewEvent, RecordedEvent, StoreUnavailableError, WrongExpectedRevisionError } from '../../application/ports/event-store';
import { SqliteEventStore } from '../../infrastructure/event-store/sqlite';
import { describeEventStoreContract } from './event-store.contract';
import { sampleEvent } from '../support/events';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-sqlite-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describeEventStoreContract('SQLite', async () => new SqliteEventStore(path.join(dir, 'contract.db')), {
  contiguousPositions: true,
});

const event = (): NewEvent => sampleEvent();

// Plain JavaScript, as a worker thread cannot load TypeScript.
const HOLD_WRITE_LOCK = `
  const { workerData, parentPort } = require('node:worker_threads');
  const Database = require(workerData.driver);
  const db = new Database(workerData.file);
  db.exec('BEGIN IMMEDIATE');
  db.prepare('INSERT INTO events (stream_id, revision, id, type, data, metadata) VALUES (?, 1, ?, ?, ?, ?)')
    .run('device-A', workerData.id, 'DeviceDistributed', '{}', '{}');
  parentPort.postMessage('holding');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
  db.exec('COMMIT');
  db.close();
`;

/**
 * Another thread, as another process would, appends revision 1 of device-A and holds its
 * transaction open for `holdMs`. Resolves once it holds the lock; `released` once it let go.
 */
const holdWriteLock = async (file: string, holdMs: number): Promise<{ released: Promise<void> }> => {
  const worker = new Worker(HOLD_WRITE_LOCK, {
    eval: true,
    workerData: { driver: require.resolve('better-sqlite3'), file, id: randomUUID(), holdMs },
  });
  const released = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  await new Promise((resolve) => worker.once('message', resolve));
  return { released };
};

describe('SQLite event store file', () => {
  it('creates its parent directories, and keeps its events when reopened', async () => {
    const file = path.join(dir, 'nested', 'deeper', 'reopen.db');
    const first = new SqliteEventStore(file);
    const written = [event(), event()];
    await first.append('device-A', written, 'no_stream');
    await first.close();

    const reopened = new SqliteEventStore(file);
    const read = await reopened.readStream('device-A');
    const next = await reopened.append('device-B', [event()], 'no_stream');
    await reopened.close();

    expect(read.map((e) => [e.id, e.revision, e.position])).toEqual([
      [written[0].id, 0, 1],
      [written[1].id, 1, 2],
    ]);
    expect(next.position).toBe(3);
  });

  it('runs in WAL mode with synchronous=FULL', async () => {
    const file = path.join(dir, 'pragmas.db');
    const store = new SqliteEventStore(file);
    const db = new Database(file);
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      // synchronous is per connection: read the store's own.
      expect((store as unknown as { db: Database.Database }).db.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      db.close();
      await store.close();
    }
  });

  it('makes an append wait for another connection\'s write and then check against it', async () => {
    const file = path.join(dir, 'locked.db');
    const store = new SqliteEventStore(file);
    try {
      await store.append('device-A', [event()], 'no_stream');
      const { released } = await holdWriteLock(file, 300);

      const error = await store.append('device-A', [event()], 0).catch((e: unknown) => e);
      await released;

      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ actual: 1 });
      expect((await store.readStream('device-A')).map((e) => e.revision)).toEqual([0, 1]);
    } finally {
      await store.close();
    }
  });

  it('lets two stores on one file see each other and refuse a stale expected revision', async () => {
    const file = path.join(dir, 'shared.db');
    const [a, b] = [new SqliteEventStore(file), new SqliteEventStore(file)];
    try {
      await a.append('device-A', [event()], 'no_stream');
      const outcomes = await Promise.allSettled([a.append('device-A', [event()], 0), b.append('device-A', [event()], 0)]);

      expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect(refused.reason).toBeInstanceOf(WrongExpectedRevisionError);
      expect((await b.readStream('device-A')).map((e) => e.revision)).toEqual([0, 1]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("delivers another store's appends to a subscriber by watching SQLite's change counter", async () => {
    const file = path.join(dir, 'polled.db');
    const [writer, reader] = [new SqliteEventStore(file), new SqliteEventStore(file, { pollIntervalMs: 20 })];
    const seen: RecordedEvent[] = [];
    const subscription = reader.subscribe({ onEvent: (e) => void seen.push(e) });
    try {
      const written = event();
      await writer.append('device-A', [written], 'no_stream');
      const deadline = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));

      expect(seen.map((e) => e.id)).toEqual([written.id]);
    } finally {
      await subscription.close();
      await Promise.all([writer.close(), reader.close()]);
    }
  });

  it('creates a new log, its folder and its -wal and -shm files for their owner alone', async () => {
    const file = path.join(dir, 'private', 'owner.db');
    const store = new SqliteEventStore(file);
    try {
      await store.append('device-A', [event()], 'no_stream');
      for (const made of [file, `${file}-wal`, `${file}-shm`]) expect((fs.statSync(made).mode & 0o777).toString(8)).toBe('600');
      expect((fs.statSync(path.dirname(file)).mode & 0o777).toString(8)).toBe('700');
    } finally {
      await store.close();
    }
  });

  it('keeps a :memory: log in memory, leaving no file of that name behind', async () => {
    const store = new SqliteEventStore(':memory:');
    await store.append('device-A', [event()], 'no_stream');
    await store.close();
    expect(fs.existsSync(path.resolve(':memory:'))).toBe(false);
  });

  it('reads the log for another connection only once it committed, not at every look', async () => {
    const file = path.join(dir, 'watched.db');
    const [writer, reader] = [new SqliteEventStore(file), new SqliteEventStore(file, { pollIntervalMs: 5 })];
    const reads = jest.spyOn(reader, 'readAll');
    const seen: RecordedEvent[] = [];
    const subscription = reader.subscribe({ onEvent: (e) => void seen.push(e) });
    const until = async (done: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    try {
      await until(() => reads.mock.calls.length > 0);
      // Some twenty looks with nothing committed: polling the log would have read it at each.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(reads).toHaveBeenCalledTimes(1);

      const written = event();
      await writer.append('device-A', [written], 'no_stream');
      await until(() => seen.length > 0);

      expect(seen.map((e) => e.id)).toEqual([written.id]);
      expect(reads).toHaveBeenCalledTimes(2);
    } finally {
      await subscription.close();
      await Promise.all([writer.close(), reader.close()]);
    }
  });

  it('answers each append of one turn on its own: a conflict and a retry beside new streams', async () => {
    const file = path.join(dir, 'batch.db');
    const store = new SqliteEventStore(file);
    try {
      const first = [event()];
      // Asked for in one turn: one commit. The second conflicts with the first, the fourth retries it.
      const outcomes = await Promise.allSettled([
        store.append('device-A', first, 'no_stream'),
        store.append('device-A', [event()], 'no_stream'),
        store.append('device-B', [event(), event()], 'no_stream'),
        store.append('device-A', first, 'no_stream'),
      ]);

      expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : o.reason.constructor.name))).toEqual([
        { nextRevision: 0, position: 1 },
        'WrongExpectedRevisionError',
        { nextRevision: 1, position: 3 },
        { nextRevision: 0, position: 1, replayed: true },
      ]);
      // Stored as answered, and nothing else: another connection sees exactly these.
      const other = new Database(file, { readonly: true });
      try {
        expect(other.prepare('SELECT stream_id, revision FROM events ORDER BY position').raw().all()).toEqual([
          ['device-A', 0],
          ['device-B', 0],
          ['device-B', 1],
        ]);
      } finally {
        other.close();
      }
    } finally {
      await store.close();
    }
  });

  it('writes a fraction of the log for appends of one turn that it writes for the same appends one by one', async () => {
    const walBytes = async (name: string, write: (store: SqliteEventStore, streams: string[]) => Promise<unknown>) => {
      const file = path.join(dir, `${name}.db`);
      const store = new SqliteEventStore(file);
      try {
        await store.append('device-0', [event()], 'no_stream'); // the schema's pages are in the log from here
        const before = fs.statSync(`${file}-wal`).size;
        await write(store, Array.from({ length: 20 }, (_, i) => `device-${i + 1}`));
        return fs.statSync(`${file}-wal`).size - before;
      } finally {
        await store.close();
      }
    };
    const together = await walBytes('together', (store, streams) =>
      Promise.all(streams.map((stream) => store.append(stream, [event()], 'no_stream'))),
    );
    const oneByOne = await walBytes('one-by-one', async (store, streams) => {
      for (const stream of streams) await store.append(stream, [event()], 'no_stream');
    });

    // Each commit writes the pages it changed again; one commit writes them once.
    expect(together).toBeGreaterThan(0);
    expect(together * 5).toBeLessThan(oneByOne);
  });

  it('fails every append of a batch that fails part-way, writes none of them, and keeps the chain whole', async () => {
    const file = path.join(dir, 'batch-full.db');
    const store = new SqliteEventStore(file, { chainKey: randomBytes(32) });
    const db = (store as unknown as { db: Database.Database }).db;
    try {
      await store.append('device-A', [event()], 'no_stream');
      // The file may grow by a couple of pages: the small appends fit, the large one cannot.
      db.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true })) + 2}`);
      const large = Array.from({ length: 50 }, () => sampleEvent({ data: { note: 'x'.repeat(2000) } }));
      const outcomes = await Promise.allSettled([
        store.append('device-B', [event()], 'no_stream'),
        store.append('device-C', large, 'no_stream'),
        store.append('device-D', [event()], 'no_stream'),
      ]);
      db.pragma('max_page_count = 1073741823');

      expect(outcomes.map((o) => o.status === 'rejected' && o.reason instanceof StoreUnavailableError)).toEqual([true, true, true]);
      expect((await store.readAll()).map((e) => e.streamId)).toEqual(['device-A']);
      expect(await store.append('device-B', [event()], 'no_stream')).toEqual({ nextRevision: 0, position: 2 });
      expect(await store.verifyChain()).toMatchObject({ ok: true, checked: 2 });
    } finally {
      await store.close();
    }
  });

  it('fails every append of a batch that cannot take the write lock', async () => {
    const file = path.join(dir, 'batch-busy.db');
    const store = new SqliteEventStore(file, { busyTimeoutMs: 50 });
    try {
      await store.append('device-A', [event()], 'no_stream');
      const { released } = await holdWriteLock(file, 300);

      const outcomes = await Promise.allSettled([
        store.append('device-X', [event()], 'no_stream'),
        store.append('device-Y', [event()], 'no_stream'),
      ]);
      await released;

      expect(outcomes.map((o) => o.status === 'rejected' && o.reason instanceof StoreUnavailableError)).toEqual([true, true]);
      expect((await store.readAll()).map((e) => e.streamId)).toEqual(['device-A', 'device-A']); // the other thread's row
      expect(await store.append('device-X', [event()], 'no_stream')).toMatchObject({ nextRevision: 0 });
    } finally {
      await store.close();
    }
  });

  it('gives StoreUnavailableError when the file cannot be created', () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, '');
    expect(() => new SqliteEventStore(path.join(blocker, 'qkmp.db'))).toThrow(StoreUnavailableError);
  });

  it('gives StoreUnavailableError after close', async () => {
    const store = new SqliteEventStore(path.join(dir, 'closed.db'));
    await store.close();
    await expect(store.readAll()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.append('device-A', [event()], 'any')).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
