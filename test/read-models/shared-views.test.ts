import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { RedisViewStore } from '../../infrastructure/read-models/redis-view-store';
import { Projector } from '../../read-models/projector';
import { createReadModels } from '../../read-models/read-models';
import { platform } from './support/platform';
import { REDIS_URL, testNamespace } from './support/redis';
import { cleanReplay, contentOf } from './support/replay';

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
