import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { StoreUnavailableError } from '../../application/ports/event-store';
import { EventIdConflictError, NewEvent } from '../../application/ports/event-store';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { describeEventStoreContract } from './event-store.contract';
import { sampleEvent, sampleMetadata } from '../support/events';

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
    ['a UUID with a letter past f', () => [event({ id: `${randomUUID().slice(0, 35)}g` })], /events\[0\]\.id must be a UUID/],
    ['a UUID with a dash moved', () => [event({ id: `${randomUUID().slice(0, 7)}-0${randomUUID().slice(9)}` })], /events\[0\]\.id must be a UUID/],
    ['a UUID of 32 digits without dashes', () => [event({ id: randomUUID().replace(/-/g, '') })], /events\[0\]\.id must be a UUID/],
    ['a UUID with a digit more', () => [event({ id: `${randomUUID()}0` })], /events\[0\]\.id must be a UUID/],
    ['a UUID with a non-ASCII digit', () => [event({ id: `${randomUUID().slice(0, 35)}\u0660` })], /events\[0\]\.id must be a UUID/],
    ['a UUID with a character whose low byte is a hex digit', () => [event({ id: `${randomUUID().slice(0, 35)}\u0161` })], /events\[0\]\.id must be a UUID/],
    ['an id that is not a string', () => [event(), event({ id: 7 as unknown as string })], /events\[1\]\.id must be a UUID/],
    ['an id twice in one batch', () => {
      const e = event();
      return [e, { ...e }];
    }, /events\[1\]\.id repeats an earlier event's id/],
    ['an empty type', () => [event({ type: '' })], /events\[0\]\.type must be a string of 1 to 256/],
    ['a type of 257 characters', () => [event(), event({ type: 'T'.repeat(257) })], /events\[1\]\.type must be a string of 1 to 256/],
    ['a type that is not a string', () => [event({ type: 1 as unknown as string })], /events\[0\]\.type must be a string/],
    ['undefined in data', () => [event({ data: { serial: undefined } })], /events\[0\]\.data\.serial must be JSON .* holds undefined/],
    ['NaN in data', () => [event({ data: { qber: NaN } })], /events\[0\]\.data\.qber must be JSON .* non-finite number/],
    ['a Date in data', () => [event({ data: { at: new Date(0) } })], /events\[0\]\.data\.at must be JSON .* instance of Date/],
    ['a hole in an array', () => [event({ data: { list: [1, , 3] } })], /events\[0\]\.data\.list\[1\] must be JSON/],
    ['Infinity in data', () => [event({ data: { qber: Infinity } })], /events\[0\]\.data\.qber must be JSON .* non-finite number/],
    ['a function in data', () => [event({ data: { f: () => 1 } })], /events\[0\]\.data\.f must be JSON .* holds a function/],
    ['a symbol in data', () => [event({ data: { s: Symbol('s') } })], /events\[0\]\.data\.s must be JSON .* holds a symbol/],
    ['a Map in data', () => [event({ data: { m: new Map() } })], /events\[0\]\.data\.m must be JSON .* instance of Map/],
    ['a boxed number in data', () => [event({ data: { n: Object(1) as unknown } })], /events\[0\]\.data\.n must be JSON .* instance of Number/],
    ['data left out', () => [event({ data: undefined })], /events\[0\]\.data must be JSON .* holds undefined/],
    ['undefined deep in the metadata of a later event', () => [
      event(),
      event({ metadata: { ...sampleMetadata(), extra: { list: [{ at: undefined }] } } as unknown as NewEvent['metadata'] }),
    ], /events\[1\]\.metadata\.extra\.list\[0\]\.at must be JSON .* holds undefined/],
    ['a BigInt in data', () => [event({ data: { amount: BigInt(1) } })], /events\[0\]\.data must be JSON .* a cycle or a BigInt/],
    ['a cycle in data', () => {
      const data: Record<string, unknown> = {};
      data.self = data;
      return [event({ data })];
    }, /events\[0\]\.data must be JSON .* a cycle or a BigInt/],
  ])('refuses %s before writing anything', async (_, batch, message) => {
    await expect(store.append('device-A', batch(), 'any')).rejects.toThrow(message);
    await expect(store.readAll()).resolves.toEqual([]);
  });

  it('takes an id exactly when it is lowercase 8-4-4-4-12 hex', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    const char = fc.constantFrom(...'0123456789abcdefABCDEFg-/:`@G\u0660\u0161'.split(''));
    // Valid ids with one character swapped, and strings around the right length.
    const ids = fc.oneof(
      fc.tuple(fc.uuid(), fc.nat(35), char).map(([id, at, c]) => id.slice(0, at) + c + id.slice(at + 1)),
      fc.array(char, { minLength: 35, maxLength: 37 }).map((chars) => chars.join('')),
    );
    await fc.assert(
      fc.asyncProperty(ids, async (id) => {
        const stored = await store.append(`s-${randomUUID()}`, [event({ id })], 'no_stream').then(() => true, () => false);
        expect(stored).toBe(uuid.test(id));
      }),
      { numRuns: 500 },
    );
  });

  it('stores plain data exactly as JSON.stringify writes it, null-prototype objects included', async () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: [null, true, -0, 1.5e300, 'é"\\'] });
    const data = { nested: bare, empty: {}, list: [], text: '\u0000\ud800' };
    await store.append('device-A', [event({ data })], 'no_stream');

    const [stored] = await store.readStream('device-A');
    expect(JSON.stringify(stored.data)).toBe(JSON.stringify(data));
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
