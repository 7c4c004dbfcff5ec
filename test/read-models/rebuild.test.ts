import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ViewStore } from '../../application/ports/view-store';
import { SqliteEventStore } from '../../infrastructure/event-store/sqlite';
import { RedisViewStore } from '../../infrastructure/read-models/redis-view-store';
import { Projector } from '../../read-models/projector';
import { checkViews, rebuildViews } from '../../read-models/rebuild';
import { CHARGER, platform, SECURITY_ADMIN } from './support/platform';
import { cleanReplay, contentOf } from './support/replay';
import { bothStores, discard, redisStores } from './support/stores';

describe.each(bothStores)('rebuilding and checking the $name views (invariant 4)', (kind) => {
  let dir: string;
  let store: SqliteEventStore;
  let views: ViewStore;
  let head: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-rebuild-'));
    store = new SqliteEventStore(path.join(dir, 'events.db'));
    const p = platform(store);
    await p.registerCharger('kiosk-1');
    await p.ingest('bb84', 'block-1', 16_384);
    for (const n of [1, 2, 3]) {
      const serial = `UKEY-00000${n}`;
      await p.activeDevice(serial, 'grid-east', `user-${n}`);
      await p.charge(`c-${n}`, serial, 'kiosk-1', 'bb84', 1_000 * n);
      p.advance(40 * 60_000);
    }
    await p.run(SECURITY_ADMIN, { type: 'FreezeKeyRange', data: { sourceId: 'bb84', rangeId: 'c-2-r', reason: 'hold' } });
    await p.run(CHARGER, { type: 'ConsumeKeyRange', data: { sourceId: 'bb84', rangeId: 'c-3-r' } });
    await p.appendForeign('access-anonymous', 'AccessDenied', {
      principalId: null, role: null, operation: 'devices', target: null, reason: 'UNAUTHENTICATED',
    });
    head = (await store.readAll()).pop()!.position;
    views = await kind.open('rebuild');
    const projector = new Projector(store, views);
    projector.start();
    expect(await projector.waitFor(head, 10_000)).toBe(true);
    await projector.stop();
  });

  afterAll(async () => {
    await discard(views);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('deleting the views and replaying the log gives the same views', async () => {
    const live = await contentOf(views);
    expect(Object.keys(live).length).toBeGreaterThan(20);
    expect(await rebuildViews(store, views, { batchSize: 7 })).toBe(head);
    expect(await contentOf(views)).toEqual(live);
    expect(live).toEqual(await cleanReplay(store));
  });

  it('finds no difference between live and rebuilt views', async () => {
    expect(await checkViews(store, views)).toEqual({
      checkpoints: { devices: head, 'key-balances': head, chargers: head, audit: head },
      differences: [],
    });
  });

  it('reports a view key tampered with directly, with both contents', async () => {
    const key = 'balance:device:UKEY-000002';
    const honest = (await views.hashes([key]))[0];
    await views.apply([{ projection: 'tamper', after: 0, to: 1, ops: [{ kind: 'incr', key, by: { charged: 5 } }] }]);
    const { differences } = await checkViews(store, views);
    expect(differences).toContainEqual({
      key,
      live: { type: 'hash', fields: { ...honest, charged: String(Number(honest!.charged) + 5) } },
      rebuilt: { type: 'hash', fields: honest },
    });
    await rebuildViews(store, views);
    expect((await checkViews(store, views)).differences).toEqual([]);
  });
});

describe('checking Redis views', () => {
  it('sees a key changed behind its back and leaves no scratch keys behind', async () => {
    const views = (await redisStores.open('check')) as RedisViewStore;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-check-'));
    const store = new SqliteEventStore(path.join(dir, 'events.db'));
    try {
      const p = platform(store);
      await p.activeDevice('UKEY-000009', 'grid-north', 'user-9');
      await rebuildViews(store, views);
      await views.client.hSet(`${views.namespace}device:UKEY-000009`, 'status', 'DESTROYED');
      await views.client.zAdd(`${views.namespace}devices`, { score: 0, value: 'UKEY-GHOST' });
      const { differences } = await checkViews(store, views);
      expect(differences.map((d) => d.key)).toEqual(['device:UKEY-000009', 'devices']);
      expect(differences[0].live).toMatchObject({ fields: { status: 'DESTROYED' } });
      expect(differences[0].rebuilt).toMatchObject({ fields: { status: 'ACTIVE' } });
      expect(differences[1]).toEqual({
        key: 'devices',
        live: { type: 'index', members: ['UKEY-000009', 'UKEY-GHOST'] },
        rebuilt: { type: 'index', members: ['UKEY-000009'] },
      });
      const scratch = [];
      const match = `${views.namespace.slice(0, -1)}-scratch:*`;
      for await (const keys of views.client.scanIterator({ MATCH: match })) scratch.push(...keys);
      expect(scratch).toEqual([]);
    } finally {
      await discard(views);
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
