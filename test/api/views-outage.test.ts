import { RedisViewStore } from '../../infrastructure/read-models/redis-view-store';
import { Projector } from '../../read-models/projector';
import { createReadModels } from '../../read-models/read-models';
import { ScratchRedis, testNamespace } from '../read-models/support/redis';
import { eventually } from '../read-models/support/replay';
import { codeOf } from './support/expectations';
import { Platform } from './support/platform';

// Views in a Redis of this file's own, killed under the running API: every reader of the views is
// told they are stale and why, but where the view store runs is for the server's log only.

describe("when the views' Redis goes away under the API", () => {
  let redis: ScratchRedis;
  let p: Platform;
  let views: RedisViewStore | undefined;
  let projector: Projector | undefined;
  const faults: string[] = [];

  beforeAll(async () => {
    redis = await ScratchRedis.start();
    p = await Platform.start({
      production: true,
      override: (deps, store) => {
        views = RedisViewStore.open(redis.url, testNamespace('api-outage'));
        projector = new Projector(store, views, { minRetryMs: 20, maxRetryMs: 250, onFault: (e) => faults.push(e.message) });
        projector.start();
        return { ...deps, readModels: createReadModels(views, projector) };
      },
    });
  });

  afterAll(async () => {
    await projector?.stop();
    await views?.close();
    await p.close();
    await redis.kill();
  });

  it("answers VIEWS_STALE and a stale viewsStatus without the view store's address, which the log keeps", async () => {
    const serial = await p.device('ACTIVE');
    expect(await projector!.waitFor(await p.head(), 10_000)).toBe(true);
    const address = `127.0.0.1:${redis.port}`;
    const read = () => p.gql('query($s: String!) { device(serial: $s) { serial } }', { s: serial }, 'USER_ADMIN');
    const status = () => p.gql('{ viewsStatus { stale reason } }', {}, 'AUDITOR');

    await redis.kill();
    // At once, a read that finds Redis gone; then, once the projector has noticed, views it calls stale.
    const reads = [await read()];
    const statuses = [await status()];
    await eventually(() => projector!.status().stale);
    reads.push(await read());
    statuses.push(await status());

    for (const answer of reads) {
      expect(codeOf(answer)).toBe('VIEWS_STALE');
      expect(answer.body.errors?.[0].message).toMatch(/^the read models are unavailable \(stale\): the view store cannot be reached; retry shortly/);
    }
    for (const answer of statuses) {
      expect(answer.body.data?.viewsStatus).toEqual({ stale: true, reason: expect.stringMatching(/the view store cannot be reached; retry shortly/) });
    }
    for (const answer of [...reads, ...statuses]) expect(JSON.stringify(answer.body)).not.toMatch(new RegExp(`Redis|${redis.port}`));
    await eventually(() => faults.length > 0);
    expect(faults.join('\n')).toContain(address);
  });
});
