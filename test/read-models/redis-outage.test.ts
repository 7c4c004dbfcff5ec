import { ReadModels, ViewsStaleError } from '../../application/ports/read-models';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { RedisViewStore, RedisViewStoreOptions } from '../../infrastructure/read-models/redis-view-store';
import { Projector, ProjectorOptions } from '../../read-models/projector';
import { createReadModels } from '../../read-models/read-models';
import { platform, Platform } from './support/platform';
import { ScratchRedis, testNamespace } from './support/redis';
import { cleanReplay, contentOf, eventually } from './support/replay';

// A redis-server of this file's own, killed and restarted empty (no persistence) under a running projector.

describe('when Redis goes away under the projector', () => {
  let redis: ScratchRedis;
  let store: InMemoryEventStore;
  let p: Platform;
  let views: RedisViewStore;
  let projector: Projector;
  let models: ReadModels;
  const faults: string[] = [];

  const head = async (): Promise<number> => (await store.readAll()).pop()?.position ?? 0;

  beforeAll(async () => {
    redis = await ScratchRedis.start();
    store = new InMemoryEventStore();
    p = platform(store);
    await p.registerCharger('kiosk-1');
    await p.ingest('bb84', 'block-1', 8_192);
    await p.activeDevice('UKEY-000001', 'grid-east', 'user-1');
    views = RedisViewStore.open(redis.url, testNamespace('outage'));
    projector = new Projector(store, views, { minRetryMs: 20, maxRetryMs: 250, onFault: (e) => faults.push(e.message) });
    models = createReadModels(views, projector);
    projector.start();
    expect(await projector.waitFor(await head(), 10_000)).toBe(true);
  });

  afterAll(async () => {
    await projector.stop();
    await views.close();
    await store.close();
    await redis.kill();
  });

  it('reports stale and refuses queries with a clear error while Redis is down', async () => {
    await redis.kill();
    await expect(models.device('UKEY-000001')).rejects.toThrow(/cannot be reached/);
    await eventually(() => projector.status().stale);
    expect(await models.status()).toMatchObject({ stale: true, reason: expect.stringMatching(/unavailable \(stale\)/) });
    await expect(models.device('UKEY-000001')).rejects.toThrow(ViewsStaleError);
    await expect(models.audit({}, {})).rejects.toThrow(/read models are unavailable \(stale\).*retry shortly/);
    await eventually(() => faults.length > 0);
  });

  it('keeps the events appended meanwhile, and once Redis is back (empty) rebuilds and catches up', async () => {
    await p.activeDevice('UKEY-000002', 'grid-east', 'user-2');
    await p.charge('c-1', 'UKEY-000001', 'kiosk-1', 'bb84', 2_048);
    expect(await projector.waitFor(await head(), 300)).toBe(false);
    await redis.restart();
    expect(await projector.waitFor(await head(), 15_000)).toBe(true);
    await eventually(async () => !(await models.status()).stale);
    expect(await models.status()).toEqual({ position: await head(), stale: false });
    expect(await models.deviceBalance('UKEY-000001')).toMatchObject({ charged: 2_048 });
    expect(await contentOf(views)).toEqual(await cleanReplay(store));
  });

  it('notices a restart that lost the views even when no event arrives, and rebuilds them', async () => {
    await redis.kill();
    await redis.restart();
    await eventually(async () => (await views.ready(100)) && Object.keys(await contentOf(views)).length > 0, 15_000);
    await eventually(async () => !(await models.status()).stale);
    expect(await contentOf(views)).toEqual(await cleanReplay(store));
  });
});

describe('when Redis is down as the projector starts', () => {
  it('serves nothing, says stale, and catches up once Redis comes', async () => {
    const redis = await ScratchRedis.start();
    await redis.kill();
    const store = new InMemoryEventStore();
    const p = platform(store);
    await p.activeDevice('UKEY-000003', 'grid-west', 'user-3');
    const views = RedisViewStore.open(redis.url, testNamespace('cold-start'));
    const projector = new Projector(store, views, { minRetryMs: 20, maxRetryMs: 250 });
    const models = createReadModels(views, projector);
    try {
      expect(await views.ready(200)).toBe(false);
      projector.start();
      expect(await models.status()).toMatchObject({ stale: true });
      await expect(models.devices({}, {})).rejects.toThrow(ViewsStaleError);
      await redis.restart();
      const head = (await store.readAll()).pop()!.position;
      expect(await projector.waitFor(head, 15_000)).toBe(true);
      expect((await models.device('UKEY-000003'))?.status).toBe('ACTIVE');
      expect(await models.status()).toEqual({ position: head, stale: false });
    } finally {
      await projector.stop();
      await views.close();
      await store.close();
      await redis.kill();
    }
  });
});

/** What a test runs against: a projector on views in a Redis of the test's own. */
interface Scratch {
  readonly redis: ScratchRedis;
  readonly store: InMemoryEventStore;
  readonly p: Platform;
  readonly views: RedisViewStore;
  readonly projector: Projector;
  readonly models: ReadModels;
  /** The log's last position. */
  head(): Promise<number>;
}

/** Runs `test` on a fresh Redis, store and projector, and tears them all down whatever it leaves running. */
const onScratchRedis = async (
  name: string,
  options: { readonly views?: RedisViewStoreOptions; readonly projector?: ProjectorOptions },
  test: (scratch: Scratch) => Promise<void>,
): Promise<void> => {
  const redis = await ScratchRedis.start();
  const store = new InMemoryEventStore();
  const views = RedisViewStore.open(redis.url, testNamespace(name), options.views);
  const projector = new Projector(store, views, { minRetryMs: 20, maxRetryMs: 250, ...options.projector });
  const head = async () => (await store.readAll()).pop()!.position;
  try {
    await test({ redis, store, p: platform(store), views, projector, models: createReadModels(views, projector), head });
  } finally {
    redis.resume();
    await projector.stop();
    await views.close();
    await store.close();
    await redis.kill();
  }
};

describe('while the projector rebuilds views that Redis lost', () => {
  it('refuses queries, and read-your-writes waits for the rebuild, rather than answer from half-built views', () =>
    // Small batches, so the rebuild takes several pages, and it can be held between them.
    onScratchRedis('rebuild', { projector: { batchSize: 2 } }, async ({ redis, store, p, projector, models, views, head }) => {
      for (const n of [4, 5, 6, 7]) await p.activeDevice(`UKEY-00000${n}`, 'grid-west', `user-${n}`);
      const last = await head();
      let release = (): void => {};
      const held = new Promise<void>((resolve) => (release = resolve));
      let pagesLeft = Infinity;
      const readAll = store.readAll.bind(store);
      jest.spyOn(store, 'readAll').mockImplementation(async (options) => {
        if (pagesLeft-- <= 0) await held;
        return readAll(options);
      });
      try {
        projector.start();
        expect(await projector.waitFor(last, 10_000)).toBe(true);
        expect((await models.device('UKEY-000007'))?.status).toBe('ACTIVE');

        // Enough pages that some batches are applied (a few are written ahead) before it is held.
        pagesLeft = 5;
        await redis.kill();
        await redis.restart();
        await eventually(() => projector.status().position > 0 && projector.status().position < last, 15_000);

        const { reason } = projector.status();
        expect(reason).toMatch(/lost views: they hold the log up to position \d+, not \d+; they are being rebuilt from the log, retry shortly/);
        await expect(models.device('UKEY-000007')).rejects.toThrow(new ViewsStaleError(reason!, projector.status().position));
        await expect(models.devices({}, {})).rejects.toThrow(ViewsStaleError);
        expect(await models.status()).toMatchObject({ stale: true, reason });
        expect(await projector.waitFor(last, 200)).toBe(false);

        release();
        expect(await projector.waitFor(last, 15_000)).toBe(true);
        expect((await models.device('UKEY-000007'))?.status).toBe('ACTIVE');
        expect(await contentOf(views)).toEqual(await cleanReplay(store));
      } finally {
        release();
      }
    }));
});

describe('when Redis stops answering under the projector', () => {
  it('answers VIEWS_STALE after the reply timeout instead of waiting, and catches up once Redis answers again', () =>
    onScratchRedis('paused', { views: { replyTimeoutMs: 300 } }, async ({ redis, store, p, projector, models, views, head }) => {
      await p.activeDevice('UKEY-000008', 'grid-west', 'user-8');
      projector.start();
      expect(await projector.waitFor(await head(), 10_000)).toBe(true);

      redis.pause();
      // A hung Redis would hold this read for good: it must come back with a clear error.
      await expect(models.device('UKEY-000008')).rejects.toThrow(/view store cannot be reached/);
      await eventually(() => projector.status().stale);
      await expect(models.devices({}, {})).rejects.toThrow(ViewsStaleError);
      expect(await models.status()).toMatchObject({ stale: true });
      await p.activeDevice('UKEY-000009', 'grid-west', 'user-9');

      redis.resume();
      expect(await projector.waitFor(await head(), 15_000)).toBe(true);
      expect((await models.device('UKEY-000009'))?.status).toBe('ACTIVE');
      expect(await contentOf(views)).toEqual(await cleanReplay(store));
    }));
});

describe('the reply deadline', () => {
  it('times each round trip, not a whole scan: views are dumped and dropped in a Redis that holds many other keys', () =>
    // A scan of every key takes several hundred round trips, far longer in all than one deadline.
    onScratchRedis('crowded', { views: { replyTimeoutMs: 200 } }, async ({ store, p, projector, views, head }) => {
      await p.activeDevice('UKEY-000010', 'grid-west', 'user-10');
      expect(await views.ready(5_000)).toBe(true);
      for (let batch = 0; batch < 30; batch++) {
        const multi = views.client.multi();
        for (let i = 0; i < 10_000; i++) multi.set(`other-app:${batch}:${i}`, '1');
        await multi.execAsPipeline();
      }
      projector.start();
      expect(await projector.waitFor(await head(), 10_000)).toBe(true);
      expect((await views.dump()).size).toBeGreaterThan(0);
      expect(await contentOf(views)).toEqual(await cleanReplay(store));
      await projector.stop();
      await views.drop();
      expect((await views.dump()).size).toBe(0);
      expect(await views.client.dbSize()).toBe(300_000);
    }));
});
