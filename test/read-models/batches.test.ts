import { DumpedValue, ViewStore } from '../../application/ports/view-store';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { MemoryViewStore } from '../../infrastructure/read-models/memory-view-store';
import { allProjections } from '../../read-models/projections';
import { catchUp } from '../../read-models/replay';
import { CHARGER, platform, SECURITY_ADMIN, USER_ADMIN } from './support/platform';
import { contentOf } from './support/replay';
import { discard, redisStores } from './support/stores';

// Projections group and fold a batch's operations, and Redis applies them with shortcuts of its
// own: a log replayed in batches of every size must give the views of its events one by one.

const HOUR = 3_600_000;

/** Devices through their whole lifecycle, charges, refusals and failures: about two hundred events. */
const busyLog = async (): Promise<InMemoryEventStore> => {
  const store = new InMemoryEventStore();
  const p = platform(store);
  await p.registerCharger('kiosk-1');
  await p.registerCharger('kiosk-2');
  await p.ingest('bb84', 'block-1', 1_000_000);
  for (let n = 1; n <= 14; n++) {
    const serial = `UKEY-${String(n).padStart(6, '0')}`;
    await p.activeDevice(serial, `grid-${n % 3}`, `user-${n}`, n % 2 ? 'UKEY' : 'SD_CARD');
    await p.charge(`c-${n}`, serial, `kiosk-${1 + (n % 2)}`, 'bb84', 512 * n);
    if (n % 3 === 0) {
      await p.run(USER_ADMIN, { type: 'ReportDeviceLost', data: { serial, reason: 'lost' } });
      await p.run(SECURITY_ADMIN, { type: 'FreezeKeyRange', data: { sourceId: 'bb84', rangeId: `c-${n}-r`, reason: 'lost' } });
      await p.run(USER_ADMIN, { type: 'CancelDeviceLoss', data: { serial } });
      await p.run(SECURITY_ADMIN, { type: 'RestoreKeyRange', data: { sourceId: 'bb84', rangeId: `c-${n}-r` } });
    }
    if (n % 4 === 1) await p.run(CHARGER, { type: 'ConsumeKeyRange', data: { sourceId: 'bb84', rangeId: `c-${n}-r` } });
    if (n % 5 === 2) {
      for (let i = 0; i < 5; i++) {
        await p.run(CHARGER, {
          type: 'RecordDeviceAuthenticationFailure',
          data: { serial, chargerId: 'kiosk-1', chargeId: `c-${n}-again`, reason: 'BAD_PIN' },
        });
      }
      await p.run(CHARGER, {
        type: 'StartCharge',
        data: { chargeId: `c-${n}-again`, deviceSerial: serial, chargerId: 'kiosk-1', sourceId: 'bb84', bytes: 64 },
      });
    }
    if (n % 7 === 6) {
      const rangeId = `c-${n}-r`;
      await p.run(SECURITY_ADMIN, { type: 'DestroyKeyRange', data: { sourceId: 'bb84', rangeId, reason: 'retired' } });
      await p.run(SECURITY_ADMIN, { type: 'DestroyDevice', data: { serial, reason: 'retired' } });
    }
    await p.appendForeign('access-eve', 'AccessDenied', { operation: 'devices', reason: 'FORBIDDEN', target: null });
    p.advance(HOUR / 3);
  }
  return store;
};

const replayed = async (store: InMemoryEventStore, views: ViewStore, batchSize: number) => {
  await catchUp(store, views, { projections: allProjections, batchSize });
  return contentOf(views);
};

describe('replaying a busy log', () => {
  let store: InMemoryEventStore;
  let oneByOne: Record<string, DumpedValue>;

  beforeAll(async () => {
    store = await busyLog();
    oneByOne = await replayed(store, new MemoryViewStore(), 1);
  });
  afterAll(() => store?.close());

  it('is long enough for batches of more than a hundred events', async () => {
    expect((await store.readAll()).length).toBeGreaterThan(150);
    expect(Object.keys(oneByOne).length).toBeGreaterThan(100);
  });

  it.each([2, 7, 64, 1_000])('in memory, in batches of %i, gives the views of its events one by one', async (size) => {
    expect(await replayed(store, new MemoryViewStore(), size)).toEqual(oneByOne);
  });

  it.each([7, 1_000])('in Redis, in batches of %i, gives the views of its events one by one', async (size) => {
    const views = await redisStores.open('batches');
    try {
      expect(await replayed(store, views, size)).toEqual(oneByOne);
    } finally {
      await discard(views);
    }
  });
});
