import { BACKWARDS, END } from '@eventstore/db-client';
import { EventStoreDbEventStore } from '../../infrastructure/event-store/eventstoredb';

// A client that answers backward reads of $all as the server does: from END, or from an event's
// position leaving that event out, a page of at most maxCount. Positions are sparse byte offsets.
const serverWith = (all: readonly { streamId: string; type: string }[]) => {
  const events = all.map((e, i) => {
    const commit = 512n + BigInt(i) * 131n;
    return { event: { ...e, id: `e-${i}`, revision: 0n, data: {}, metadata: {}, position: { commit, prepare: commit } } };
  });
  const reads: number[] = [];
  const client = {
    readAll: (options: { direction?: unknown; fromPosition: unknown; maxCount: number }) => {
      if (options.direction !== BACKWARDS) throw new Error('only backward reads are expected');
      const from = options.fromPosition === END ? events.length : events.findIndex((e) => e.event.position === options.fromPosition);
      const page = events.slice(Math.max(0, from - options.maxCount), from).reverse();
      reads.push(page.length);
      return (async function* () {
        yield* page;
      })();
    },
  };
  return { store: new EventStoreDbEventStore(client as never), events, reads };
};

const user = (i: number) => ({ streamId: `device-UKEY-${i}`, type: 'DeviceFrozen' });
const system = (i: number) => ({ streamId: `$stats-127.0.0.1:2113`, type: `$statsCollected-${i}` });

describe('EventStoreDB lastPosition (a client that behaves as the server)', () => {
  it('given the server wrote its own events after ours, past a page of them, then it is our newest event', async () => {
    const { store, events, reads } = serverWith([...Array.from({ length: 3 }, (_, i) => user(i)), ...Array.from({ length: 700 }, (_, i) => system(i))]);
    expect(await store.lastPosition()).toBe(Number(events[2].event.position.commit));
    expect(reads).toEqual([500, 203]);
  });

  it('given only the server has written, then it is 0', async () => {
    const { store } = serverWith(Array.from({ length: 20 }, (_, i) => system(i)));
    expect(await store.lastPosition()).toBe(0);
  });
});
