import { RecordedEvent } from '../../application/ports/event-store';
import { ViewOp, ViewStore } from '../../application/ports/view-store';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { VIEW_LAYOUT } from '../../read-models/layout';
import { Projector } from '../../read-models/projector';
import { allProjections, projectionNames } from '../../read-models/projections';
import { catchUp } from '../../read-models/replay';
import { platform } from './support/platform';
import { cleanReplay, contentOf } from './support/replay';
import { bothStores, discard } from './support/stores';

// Views written in another layout of keys and values must never be read or added to as if they
// were this one: the catch-up drops them and rebuilds them from the log.

describe.each(bothStores)('views of another layout in the $name view store', (kind) => {
  let store: InMemoryEventStore;
  let views: ViewStore;
  let log: RecordedEvent[];

  beforeEach(async () => {
    store = new InMemoryEventStore();
    const p = platform(store);
    await p.registerCharger('kiosk-1');
    await p.ingest('bb84', 'block-1', 4_096);
    await p.activeDevice('UKEY-000001', 'grid-east', 'user-1');
    await p.charge('c-1', 'UKEY-000001', 'kiosk-1', 'bb84', 1_024);
    log = await store.readAll();
    views = await kind.open('layout');
  });
  afterEach(async () => {
    await store.close();
    await discard(views);
  });

  const head = (): number => log[log.length - 1].position;

  /** Writes `ops` as every projection's views up to the end of the log, as an older build would have. */
  const written = async (ops: ViewOp[]): Promise<void> => {
    const writes = projectionNames(allProjections).map((projection, i) => ({
      projection,
      after: 0,
      to: head(),
      ops: i === 0 ? ops : [],
    }));
    expect(await views.apply(writes)).toEqual({ applied: true });
  };

  // What the layout before versions wrote: an entry per position and an index of all entries.
  const unversioned: ViewOp[] = [
    { kind: 'set', key: 'audit:entries', fields: { '1': '["an entry of the old layout"]' } },
    { kind: 'index', key: 'audit:all', members: ['2026-03-01T08:00:00.000Z|0000000000000001'] },
    { kind: 'incr', key: 'balance:device:UKEY-000001', by: { charged: 1_024 } },
  ];

  it('rebuilds views written before layouts had versions, counting nothing twice', async () => {
    await written(unversioned);
    await catchUp(store, views, { projections: allProjections });
    expect(await contentOf(views)).toEqual(await cleanReplay(store));
  });

  it('rebuilds views that say they are of another version, with a projector too', async () => {
    await written([...unversioned, { kind: 'set', key: 'layout', fields: { version: `${VIEW_LAYOUT}-old` } }]);
    const projector = new Projector(store, views);
    projector.start();
    expect(await projector.waitFor(head(), 5_000)).toBe(true);
    await projector.stop();
    expect(await contentOf(views)).toEqual(await cleanReplay(store));
    expect(await views.fields('layout', ['version'])).toEqual([VIEW_LAYOUT]);
  });

  it('keeps views of this layout, and an empty store', async () => {
    await catchUp(store, views, { projections: allProjections });
    const marker: ViewOp = { kind: 'set', key: 'kept', fields: { here: 'yes' } };
    await views.apply([{ projection: 'marker', after: 0, to: 1, ops: [marker] }]);
    await catchUp(store, views, { projections: allProjections });
    expect(await views.fields('kept', ['here'])).toEqual(['yes']);

    await views.drop();
    await views.apply([{ projection: 'marker', after: 0, to: 1, ops: [marker] }]);
    await catchUp(store, views, { projections: allProjections });
    expect(await views.fields('kept', ['here'])).toEqual(['yes']);
  });
});
