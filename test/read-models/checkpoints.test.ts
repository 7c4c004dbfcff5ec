import { RecordedEvent } from '../../application/ports/event-store';
import { ViewStore } from '../../application/ports/view-store';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { RedisViewStore } from '../../infrastructure/read-models/redis-view-store';
import { keyBalanceProjection } from '../../read-models/key-balance/projection';
import { Projector } from '../../read-models/projector';
import { allProjections } from '../../read-models/projections';
import { createReadModels } from '../../read-models/read-models';
import { applyRecorded, catchUp } from '../../read-models/replay';
import { platform, Platform } from './support/platform';
import { cleanReplay, contentOf } from './support/replay';
import { bothStores, discard, redisStores } from './support/stores';

/** Two devices charged from one pool: events every projection cares about. */
const history = async (p: Platform): Promise<void> => {
  await p.registerCharger('kiosk-1');
  await p.ingest('bb84', 'block-1', 4_096);
  await p.activeDevice('UKEY-000001', 'grid-east', 'user-1');
  await p.activeDevice('UKEY-000002', 'grid-east', 'user-2');
  await p.charge('c-1', 'UKEY-000001', 'kiosk-1', 'bb84', 1_024);
  await p.charge('c-2', 'UKEY-000002', 'kiosk-1', 'bb84', 512);
};

describe.each(bothStores)('checkpoints in the $name view store', (kind) => {
  let store: InMemoryEventStore;
  let views: ViewStore;
  let log: RecordedEvent[];

  beforeEach(async () => {
    store = new InMemoryEventStore();
    await history(platform(store));
    log = await store.readAll();
    views = await kind.open('checkpoints');
  });
  afterEach(async () => {
    await store.close();
    await discard(views);
  });

  const at = (position: number) => ({ devices: position, 'key-balances': position, chargers: position, audit: position });

  it('applies the same events twice as once: a write built on a passed checkpoint writes nothing', async () => {
    const first = await applyRecorded(views, allProjections, log, at(0));
    expect(first).toMatchObject({ applied: true, batch: { before: at(0), after: at(log.length) } });
    const once = await contentOf(views);
    expect(once).toEqual(await cleanReplay(store));
    expect(await applyRecorded(views, allProjections, log, at(0))).toEqual({ applied: false, checkpoints: at(log.length) });
    expect(await contentOf(views)).toEqual(once);
    expect(await catchUp(store, views, { projections: allProjections })).toEqual(at(log.length));
    expect(await contentOf(views)).toEqual(once);
  });

  it('leaves out of a write the events at or below each checkpoint', async () => {
    const middle = Math.floor(log.length / 2);
    await applyRecorded(views, allProjections, log.slice(0, middle + 3), at(0));
    const stored = await views.checkpoints(Object.keys(at(0)));
    expect(stored).toEqual(at(log[middle + 2].position));
    await applyRecorded(views, allProjections, log.slice(middle), stored);
    expect(await contentOf(views)).toEqual(await cleanReplay(store));
  });

  it('writes nothing and reports the checkpoints when a batch starts past what a projection has seen', async () => {
    const result = await applyRecorded(views, allProjections, log.slice(5), at(log[4].position));
    expect(result).toEqual({ applied: false, checkpoints: at(0) });
    expect(await contentOf(views)).toEqual({});
  });

  it('answers fenced reads while the checkpoints hold what the reader expects, and refuses each kind of read once they do not', async () => {
    const checkpoints = await catchUp(store, views, { projections: allProjections });
    const head = log[log.length - 1].position;
    let expected = head;
    const reads = views.fenced(Object.keys(checkpoints), () => expected);
    const kinds = {
      hashes: () => reads.hashes(['device:UKEY-000001']),
      fields: () => reads.fields('device:UKEY-000001', ['status']),
      range: () => reads.range('devices', { min: '-', max: '+' }),
      counts: () => reads.counts([{ key: 'devices', min: '-', max: '+' }]),
      contains: () => reads.contains('devices', ['UKEY-000002']),
    };
    const answers = async () => Object.fromEntries(await Promise.all(Object.entries(kinds).map(async ([k, read]) => [k, await read()])));
    const before = await answers();
    expect(before).toMatchObject({ fields: ['ACTIVE'], range: ['UKEY-000001', 'UKEY-000002'], counts: [2], contains: [true] });

    // A reader that has seen more of the log than the views hold: views lost behind its back.
    expected = head + 1;
    for (const read of Object.values(kinds)) {
      await expect(read()).rejects.toMatchObject({ name: 'ViewsLostError', position: head, expected: head + 1 });
    }
    expected = head;
    await views.drop();
    for (const read of Object.values(kinds)) {
      await expect(read()).rejects.toMatchObject({ name: 'ViewsLostError', position: 0, expected: head });
    }
    await catchUp(store, views, { projections: allProjections });
    expect(await answers()).toEqual(before);
  });

  it('lets each projection skip what it has seen when the projector starts from the lowest checkpoint', async () => {
    const balancesOnly = new Projector(store, views, { projections: [keyBalanceProjection] });
    balancesOnly.start();
    expect(await balancesOnly.waitFor(log[log.length - 1].position, 5_000)).toBe(true);
    await balancesOnly.stop();
    const all = new Projector(store, views);
    all.start();
    expect(await all.waitFor(log[log.length - 1].position, 5_000)).toBe(true);
    await all.stop();
    expect(await contentOf(views)).toEqual(await cleanReplay(store));
  });
});

describe('a fault in the Redis script call', () => {
  let store: InMemoryEventStore;
  let views: RedisViewStore;
  let log: RecordedEvent[];

  beforeEach(async () => {
    store = new InMemoryEventStore();
    await history(platform(store));
    log = await store.readAll();
    views = (await redisStores.open('script-fault')) as RedisViewStore;
  });
  afterEach(async () => {
    await store.close();
    await discard(views);
  });

  /** Runs a projector whose first script call fails as `fault` says; returns what the store held right after. */
  const projectThrough = async (fault: 'before sending' | 'after the reply was lost') => {
    const real = views.client.sendCommand.bind(views.client);
    let faulted = false;
    let atFault: { checkpoint: number; charged: string | null } | undefined;
    // The first script call fails; every other command goes through.
    jest.spyOn(views.client, 'sendCommand').mockImplementation(async (...args) => {
      if (faulted || !String(args[0][0]).startsWith('EVAL')) return real(...args);
      faulted = true;
      if (fault === 'after the reply was lost') await real(...args);
      const [checkpoint] = Object.values(await views.checkpoints(['key-balances']));
      const [charged] = await views.fields('balance:device:UKEY-000001', ['charged']);
      atFault = { checkpoint, charged };
      throw new Error('connection reset by peer');
    });
    const projector = new Projector(store, views, { minRetryMs: 10 });
    const models = createReadModels(views, projector);
    projector.start();
    expect(await projector.waitFor(log[log.length - 1].position, 5_000)).toBe(true);
    await projector.stop();
    return { atFault: atFault!, models };
  };

  it('before it reaches Redis: neither views nor checkpoint moved, and the retry applies everything once', async () => {
    const { atFault, models } = await projectThrough('before sending');
    expect(atFault).toEqual({ checkpoint: 0, charged: null });
    expect(await models.deviceBalance('UKEY-000001')).toMatchObject({ charged: 1_024, remaining: 1_024 });
    expect(await contentOf(views)).toEqual(await cleanReplay(store));
  });

  it('after Redis ran it but the reply was lost: views and checkpoint moved together, nothing counts twice', async () => {
    const { atFault, models } = await projectThrough('after the reply was lost');
    expect(atFault).toEqual({ checkpoint: log[log.length - 1].position, charged: '1024' });
    expect(await models.deviceBalance('UKEY-000001')).toMatchObject({ charged: 1_024, remaining: 1_024 });
    expect(await models.poolBalance('bb84')).toMatchObject({ ingested: 4_096, issued: 1_536, available: 2_560 });
    expect(await contentOf(views)).toEqual(await cleanReplay(store));
  });
});
