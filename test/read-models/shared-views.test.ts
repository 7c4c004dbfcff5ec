import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { RedisViewStore } from '../../infrastructure/read-models/redis-view-store';
import { Projector } from '../../read-models/projector';
import { allProjections, projectionNames } from '../../read-models/projections';
import { applyRecorded, catchUp } from '../../read-models/replay';
import { createReadModels } from '../../read-models/read-models';
import { platform } from './support/platform';
import { REDIS_URL, ScratchRedis, testNamespace } from './support/redis';
import { cleanReplay, contentOf, eventually } from './support/replay';

// Two platform processes on one Redis namespace: each projector follows the log, and whichever
// applies a batch first, the other finds its checkpoints already there.

describe('two projectors sharing one Redis namespace', () => {
  it('both stay live under writes: no fault, no refused query, and each hears every event once', async () => {
    const store = new InMemoryEventStore();
    const p = platform(store);
    const namespace = testNamespace('shared');
    const views = [RedisViewStore.open(REDIS_URL, namespace), RedisViewStore.open(REDIS_URL, namespace)];
    const faults: string[] = [];
    const projectors = views.map((v) => new Projector(store, v, { onFault: (e) => faults.push(e.message) }));
    const models = projectors.map((projector, i) => createReadModels(views[i], projector));
    const heard: number[][] = [[], []];
    projectors.forEach((projector, i) => projector.onChange((change) => heard[i].push(...change.audit.map((e) => e.position))));
    try {
      for (const v of views) expect(await v.ready(5_000)).toBe(true);
      projectors.forEach((projector) => projector.start());
      for (const projector of projectors) expect(await projector.waitFor(0, 10_000)).toBe(true);

      for (let n = 1; n <= 12; n++) {
        const serial = `UKEY-${String(n).padStart(6, '0')}`;
        await p.activeDevice(serial, 'grid-east', `user-${n}`);
        // Read at once, while both projectors race to apply the device's events.
        for (const m of models) expect(await m.device(serial)).not.toBeUndefined();
      }
      const log = await store.readAll();
      const head = log[log.length - 1].position;
      for (const projector of projectors) expect(await projector.waitFor(head, 10_000)).toBe(true);

      expect(faults).toEqual([]);
      for (const positions of heard) expect(positions).toEqual(log.map((e) => e.position));
      expect(await contentOf(views[0])).toEqual(await cleanReplay(store));
    } finally {
      for (const projector of projectors) await projector.stop();
      for (const v of views) {
        await v.drop();
        await v.close();
      }
      await store.close();
    }
  });
});

describe('a projector whose views another process changes', () => {
  const setUp = async (checkIntervalMs = 50) => {
    const store = new InMemoryEventStore();
    const namespace = testNamespace('shared');
    const views = [RedisViewStore.open(REDIS_URL, namespace), RedisViewStore.open(REDIS_URL, namespace)];
    for (const v of views) expect(await v.ready(5_000)).toBe(true);
    // Both stores listen for the other's drops.
    const listening = async () => (await views[0].client.sendCommand(['PUBSUB', 'NUMSUB', `${namespace}dropped`])) as [string, number];
    await eventually(async () => (await listening())[1] === 2);
    const faults: string[] = [];
    const projectors = views.map((v) => new Projector(store, v, { checkIntervalMs, minRetryMs: 20, onFault: (e) => faults.push(e.message) }));
    const close = async () => {
      for (const projector of projectors) await projector.stop();
      await views[0].drop();
      for (const v of views) await v.close();
      await store.close();
    };
    return { store, p: platform(store), views, projectors, faults, close };
  };

  it('hears, once back, the events the other applied while it was away', async () => {
    const { store, p, projectors, close } = await setUp();
    const heard: number[] = [];
    projectors[0].onChange((change) => heard.push(...change.audit.map((e) => e.position)));
    try {
      for (const projector of projectors) projector.start();
      await p.activeDevice('UKEY-000021', 'grid-east', 'user-21');
      for (const projector of projectors) expect(await projector.waitFor(3, 10_000)).toBe(true);
      await projectors[0].stop();
      await p.activeDevice('UKEY-000022', 'grid-east', 'user-22');
      expect(await projectors[1].waitFor(6, 10_000)).toBe(true);
      projectors[0].start();
      expect(await projectors[0].waitFor(6, 10_000)).toBe(true);
      expect(heard).toEqual((await store.readAll()).map((e) => e.position));
    } finally {
      await close();
    }
  });

  it.each([
    ['hears at once of', 600_000],
    ['notices at its next checkpoint check', 50],
  ])('%s views dropped by another process (a rebuild), without any write, and rebuilds them', async (_, checkIntervalMs) => {
    const { store, p, views, projectors, faults, close } = await setUp(checkIntervalMs);
    const models = createReadModels(views[0], projectors[0]);
    try {
      await p.activeDevice('UKEY-000023', 'grid-east', 'user-23');
      projectors[0].start();
      expect(await projectors[0].waitFor(3, 10_000)).toBe(true);
      const clean = JSON.stringify(await cleanReplay(store));
      await views[1].drop();
      await eventually(async () => JSON.stringify(await contentOf(views[0])) === clean, 5_000);
      expect(faults).toEqual([expect.stringMatching(/views are at position 0, not where the projector left them/)]);
      expect(await projectors[0].waitFor(3, 10_000)).toBe(true);
      expect((await models.device('UKEY-000023'))?.status).toBe('ACTIVE');
    } finally {
      await close();
    }
  });
  it('answers VIEWS_STALE, never the emptied views, when they are lost without a notice it hears, and rebuilds them', async () => {
    const { p, views, projectors, close } = await setUp(600_000);
    const models = createReadModels(views[0], projectors[0]);
    try {
      await p.activeDevice('UKEY-000024', 'grid-east', 'user-24');
      projectors[0].start();
      expect(await projectors[0].waitFor(3, 10_000)).toBe(true);
      // Emptied by other means than a drop (a flush, a drop by a user that may not publish):
      // nothing tells the projector, and its checkpoint check is minutes away.
      for await (const keys of views[1].client.scanIterator({ MATCH: `${views[1].namespace}*` })) {
        if (keys.length > 0) await views[1].client.unlink(keys);
      }
      await expect(models.device('UKEY-000024')).rejects.toMatchObject({
        name: 'ViewsStaleError',
        position: 0,
        message: expect.stringMatching(/lost views: they hold the log up to position 0, not 3; they are being rebuilt/),
      });
      // The refused read told the projector, which rebuilds at once.
      expect(await projectors[0].waitFor(3, 10_000)).toBe(true);
      expect((await models.device('UKEY-000024'))?.status).toBe('ACTIVE');
    } finally {
      await close();
    }
  });
});

describe('a drop of shared views', () => {
  it('happens in one step: a batch sent meanwhile lands wholly before it, or is refused after it', async () => {
    const store = new InMemoryEventStore();
    const p = platform(store);
    const namespace = testNamespace('drop');
    const [dropper, writer] = [RedisViewStore.open(REDIS_URL, namespace), RedisViewStore.open(REDIS_URL, namespace)];
    try {
      for (const v of [dropper, writer]) expect(await v.ready(5_000)).toBe(true);
      await p.activeDevice('UKEY-000031', 'grid-east', 'user-31');
      const checkpoints = await catchUp(store, writer, { projections: allProjections });
      // Views large enough that deleting them takes many pages.
      for (let batch = 0; batch < 5; batch++) {
        const multi = writer.client.multi();
        for (let i = 0; i < 10_000; i++) multi.hSet(`${namespace}filler:${batch}:${i}`, 'f', '1');
        await multi.execAsPipeline();
      }
      await p.activeDevice('UKEY-000032', 'grid-east', 'user-32');
      const later = (await store.readAll()).filter((e) => e.position > Math.min(...Object.values(checkpoints)));
      const keys = await writer.client.dbSize();
      const dropped = dropper.drop();
      // Sent once the drop has begun to delete, as a projector following the log might.
      await eventually(async () => (await writer.client.dbSize()) < keys, 10_000);
      const applied = await applyRecorded(writer, allProjections, later, checkpoints);
      await dropped;
      expect({ applied: applied.applied, left: (await dropper.dump()).size }).toEqual({ applied: applied.applied, left: 0 });
    } finally {
      await dropper.drop();
      for (const v of [dropper, writer]) await v.close();
      await store.close();
    }
  });

  it('still happens for a Redis user that may not publish its notice', async () => {
    const redis = await ScratchRedis.start();
    const admin = RedisViewStore.open(redis.url, testNamespace('acl'));
    try {
      expect(await admin.ready(5_000)).toBe(true);
      // Redis 7 gives a new user no channels unless told: keys and commands only.
      await admin.client.sendCommand(['ACL', 'SETUSER', 'qk', 'on', '>pw', '~*', '+@all']);
      const url = new URL(redis.url);
      url.username = 'qk';
      url.password = 'pw';
      const views = RedisViewStore.open(url.toString(), 'qkmp-acl:');
      try {
        expect(await views.ready(5_000)).toBe(true);
        await views.client.sendCommand(['HSET', 'qkmp-acl:device:UKEY-000034', 'status', 'ACTIVE']);
        await views.drop();
        expect((await views.dump()).size).toBe(0);
      } finally {
        await views.close();
      }
    } finally {
      await admin.close();
      await redis.kill();
    }
  });

  it('of a scratch namespace, which no projector writes, goes page by page: a check never holds Redis up', async () => {
    const store = new InMemoryEventStore();
    await platform(store).activeDevice('UKEY-000033', 'grid-east', 'user-33');
    const views = RedisViewStore.open(REDIS_URL, testNamespace('scratch-drop'));
    try {
      expect(await views.ready(5_000)).toBe(true);
      const scratch = views.scratch();
      await applyRecorded(scratch, allProjections, await store.readAll(), await scratch.checkpoints(projectionNames(allProjections)));
      const sent = jest.spyOn(views.client, 'sendCommand');
      const scripts = () => sent.mock.calls.filter(([args]) => String(args[0]).toUpperCase() === 'EVAL').length;
      await scratch.drop();
      expect(scripts()).toBe(0);
      expect((await scratch.dump()).size).toBe(0);
      await views.drop(); // live views: one script
      expect(scripts()).toBe(1);
    } finally {
      await views.close();
      await store.close();
    }
  });
});
