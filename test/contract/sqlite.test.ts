import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
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
      // Another thread, as another process would, appends revision 1 and holds its transaction open.
      const worker = new Worker(HOLD_WRITE_LOCK, {
        eval: true,
        workerData: { driver: require.resolve('better-sqlite3'), file, id: randomUUID(), holdMs: 300 },
      });
      await new Promise((resolve) => worker.once('message', resolve));

      const error = await store.append('device-A', [event()], 0).catch((e: unknown) => e);
      await new Promise((resolve) => worker.once('exit', resolve));

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

  it("delivers another store's appends to a subscriber by polling the file", async () => {
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
