import { RecordedEvent } from '../../application/ports/event-store';
import { SubscriptionHub } from '../../infrastructure/event-store/subscriptions';
import { sampleEvent } from '../support/events';

// Given a hub that asks its store whether another writer appended, when it is closed, then it asks no more.

const recorded = (position: number): RecordedEvent => ({ ...sampleEvent(), streamId: 'device-A', revision: position - 1, position });

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a subscription hub that watches for other writers', () => {
  it('stops asking the store once closed, though a handler is still running', async () => {
    const changed = jest.fn(() => false);
    let pages = [[recorded(1)]];
    const hub = new SubscriptionHub(async () => pages.shift() ?? [], { watchMs: 5, changed });
    let release!: () => void;
    const handling = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    hub.subscribe({
      onEvent: async () => {
        entered = true;
        await handling;
      },
    });
    try {
      while (!entered) await pause(5);
      await pause(20);
      expect(changed).toHaveBeenCalled();

      await hub.closeAll();
      const asked = changed.mock.calls.length;
      await pause(50);
      expect(changed).toHaveBeenCalledTimes(asked);
    } finally {
      // The subscription ends once its handler does, and with it any watch left running.
      pages = [];
      release();
    }
  });

  it('wakes its subscriptions when the store says another writer appended', async () => {
    let answer = false;
    const hub = new SubscriptionHub(async (after) => (after === 0 && answer ? [recorded(1)] : []), { watchMs: 5, changed: () => answer });
    const seen: number[] = [];
    hub.subscribe({ onEvent: (event) => void seen.push(event.position) });
    await pause(30);
    expect(seen).toEqual([]);
    answer = true;
    while (seen.length === 0) await pause(5);
    expect(seen).toEqual([1]);
    await hub.closeAll();
  });
});
