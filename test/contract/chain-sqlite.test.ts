import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ChainRow } from '../../infrastructure/event-store/chain';
import { SqliteEventStore } from '../../infrastructure/event-store/sqlite';
import {
  chainKeyOf,
  ChainStorage,
  describeChainContract,
  describeChainTamperContract,
  newEvent,
  verifyOf,
} from './chain.contract';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-chain-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A new file; tampering goes through a connection of its own, as another program's would. */
const sqliteStorage = async (): Promise<ChainStorage> => {
  const file = path.join(dir, `${randomUUID()}.db`);
  let raw: Database.Database | undefined;
  const db = (): Database.Database => (raw ??= new Database(file));
  return {
    open: (chainKey) => new SqliteEventStore(file, { chainKey }),
    tamper: {
      row: async (position) =>
        db()
          .prepare('SELECT position, stream_id AS streamId, revision, id, type, data, metadata, chain FROM events WHERE position = ?')
          .get(position) as ChainRow,
      setData: async (position, data) => void db().prepare('UPDATE events SET data = ? WHERE position = ?').run(data, position),
      setChain: async (position, chain) => void db().prepare('UPDATE events SET chain = ? WHERE position = ?').run(chain, position),
      deleteRow: async (position) => void db().prepare('DELETE FROM events WHERE position = ?').run(position),
      holdsAny: async (needles) => {
        const bytes = Buffer.concat(
          [file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)),
        );
        return needles.some((needle) => bytes.includes(needle));
      },
    },
    destroy: async () => void raw?.close(),
  };
};

describeChainContract('SQLite', sqliteStorage);
describeChainTamperContract('SQLite', sqliteStorage);

describe('SQLite audit chain on a file made before the chain existed', () => {
  it('adds the chain column, and reports the old events as unsealed', async () => {
    const file = path.join(dir, 'legacy.db');
    const legacy = new Database(file);
    legacy.exec(`CREATE TABLE events (
      position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, revision INTEGER NOT NULL, id TEXT NOT NULL UNIQUE,
      type TEXT NOT NULL, data TEXT NOT NULL, metadata TEXT NOT NULL, UNIQUE (stream_id, revision)) STRICT`);
    legacy
      .prepare('INSERT INTO events (stream_id, revision, id, type, data, metadata) VALUES (?, 0, ?, ?, ?, ?)')
      .run('device-A', randomUUID(), 'DeviceInitialized', '{}', '{}');
    legacy.close();

    const store = new SqliteEventStore(file, { chainKey: chainKeyOf() });
    try {
      await store.append('device-A', [newEvent()], 0);
      const report = await verifyOf(store);

      expect(report).toMatchObject({ ok: false, checked: 0, firstBadPosition: 1, problem: 'unsealed' });
      expect((await store.readStream('device-A')).map((e) => e.position)).toEqual([1, 2]);
      const reopened = new Database(file, { readonly: true });
      const sealed = reopened.prepare('SELECT position FROM events WHERE chain IS NOT NULL').pluck().all();
      reopened.close();
      expect(sealed).toEqual([2]);
    } finally {
      await store.close();
    }
  });
});
