import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { StoreUnavailableError } from '../../application/ports/event-store';
import { EventIdConflictError } from '../../application/ports/event-store';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { describeEventStoreContract } from './event-store.contract';
import { sampleEvent } from '../support/events';

describeEventStoreContract('in-memory', async () => new InMemoryEventStore(), { contiguousPositions: true });

// The checks below are shared by every adapter (one validation and decision module); they are
// shown once, here, on the reference store.
describe('in-memory event store', () => {
  let store: InMemoryEventStore;
  beforeEach(() => {
    store = new InMemoryEventStore();
  });
  afterEach(() => store.close());

  const event = sampleEvent;

  it('names the conflicting id and stream in a typed error', async () => {
    const shared = event();
    await store.append('device-A', [shared], 'no_stream');

    const error = await store.append('device-B', [shared], 'no_stream').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EventIdConflictError);
    expect(error).toMatchObject({ code: 'EVENT_ID_CONFLICT', streamId: 'device-B', eventId: shared.id });
    expect((error as Error).message).toMatch(/already used by an event of stream device-A; give new events new ids/);
  });

  it('refuses a retry that reorders the stored events', async () => {
    const [a, b] = [event(), event()];
    await store.append('device-A', [a, b], 'no_stream');

    await expect(store.append('device-A', [b, a], 'any')).rejects.toThrow(/in another order/);
  });

  it.each([
    ['an empty batch', () => [], /events must hold at least one event/],
    ['an id that is not a UUID', () => [event({ id: 'evt-1' })], /events\[0\]\.id must be a UUID/],
    ['an uppercase UUID', () => [event({ id: randomUUID().toUpperCase() })], /events\[0\]\.id must be a UUID in lowercase/],
    ['an id twice in one batch', () => {
      const e = event();
      return [e, { ...e }];
    }, /events\[1\]\.id repeats an earlier event's id/],
    ['an empty type', () => [event({ type: '' })], /events\[0\]\.type must be a string of 1 to 256/],
    ['undefined in data', () => [event({ data: { serial: undefined } })], /events\[0\]\.data\.serial must be JSON .* holds undefined/],
    ['NaN in data', () => [event({ data: { qber: NaN } })], /events\[0\]\.data\.qber must be JSON .* non-finite number/],
    ['a Date in data', () => [event({ data: { at: new Date(0) } })], /events\[0\]\.data\.at must be JSON .* instance of Date/],
    ['a hole in an array', () => [event({ data: { list: [1, , 3] } })], /events\[0\]\.data\.list\[1\] must be JSON/],
    ['a cycle in data', () => {
      const data: Record<string, unknown> = {};
      data.self = data;
      return [event({ data })];
    }, /events\[0\]\.data must be JSON .* a cycle or a BigInt/],
  ])('refuses %s before writing anything', async (_, batch, message) => {
    await expect(store.append('device-A', batch(), 'any')).rejects.toThrow(message);
    await expect(store.readAll()).resolves.toEqual([]);
  });

  it('never puts refused data in the error message', async () => {
    const error = await store.append('device-A', [event({ data: { pin: '123456', bad: undefined } })], 'any').catch((e: Error) => e);
    expect((error as Error).message).not.toContain('123456');
  });

  it.each([
    ['a negative expected revision', () => store.append('s', [event()], -1), /expected revision must be/],
    ['a fractional expected revision', () => store.append('s', [event()], 1.5), /expected revision must be/],
    ['an empty stream id', () => store.append('', [event()], 'any'), /streamId must be a string of 1 to 256/],
    ['a negative fromRevision', () => store.readStream('s', { fromRevision: -1 }), /fromRevision must be a whole number/],
    ['a zero maxCount', () => store.readAll({ maxCount: 0 }), /maxCount must be a whole number of 1 or more/],
    ['a negative after', () => store.readAll({ after: -1 }), /after must be a position/],
  ])('refuses %s with a message naming the field', async (_, call, message) => {
    await expect(call()).rejects.toThrow(message);
  });

  it('returns copies, so a caller cannot change what is stored', async () => {
    await store.append('device-A', [event({ data: { serial: 'UKEY-000001' } })], 'no_stream');
    const [first] = await store.readStream('device-A');
    (first.data as { serial: string }).serial = 'changed';

    const [again] = await store.readStream('device-A');
    expect(again.data).toEqual({ serial: 'UKEY-000001' });
  });

  it('keeps positions and revisions consistent for any sequence of appends', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('s1', 's2', 's3'), fc.integer({ min: 1, max: 4 })), { maxLength: 30 }), async (appends) => {
        const local = new InMemoryEventStore();
        for (const [stream, count] of appends) {
          await local.append(stream, Array.from({ length: count }, () => event()), 'any');
        }
        const all = await local.readAll();
        expect(all.map((e) => e.position)).toEqual(all.map((_, i) => i + 1));
        for (const stream of ['s1', 's2', 's3']) {
          const revisions = all.filter((e) => e.streamId === stream).map((e) => e.revision);
          expect(revisions).toEqual(revisions.map((_, i) => i));
        }
        await local.close();
      }),
      { numRuns: 50 },
    );
  });

  it('refuses calls after close with StoreUnavailableError', async () => {
    await store.close();
    await expect(store.readAll()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.append('device-A', [event()], 'any')).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('reports a read failure of a subscription through onError, once', async () => {
    await store.close();
    const errors = await new Promise<Error[]>((resolve) => {
      const seen: Error[] = [];
      store.subscribe({ onEvent: () => undefined, onError: (error) => {
        seen.push(error);
        setTimeout(() => resolve(seen), 20);
      } });
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(StoreUnavailableError);
  });

  it('lets a handler close its own subscription', async () => {
    const seen: string[] = [];
    const subscription = store.subscribe({
      onEvent: async (e) => {
        seen.push(e.id);
        await subscription.close();
      },
    });
    const [a, b] = [event(), event()];
    await store.append('device-A', [a, b], 'no_stream');
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(seen).toEqual([a.id]);
  });
});
