import { randomUUID } from 'node:crypto';
import {
  EventStore,
  NewEvent,
  RecordedEvent,
  Subscription,
  WrongExpectedRevisionError,
} from '../../application/ports/event-store';
import { sampleEvent } from '../support/events';

export interface EventStoreContractOptions {
  /**
   * Positions are 1, 2, 3... with no number skipped, within a batch and between appends (the SQL
   * stores). Stores whose positions are log offsets (EventStoreDB) only promise strictly increasing.
   */
  readonly contiguousPositions?: boolean;
  /** How long a subscriber may take to see an event before the test fails (ms); default 10000. */
  readonly deliveryTimeoutMs?: number;
  /**
   * An append that reuses an event id of another stream is refused; default true. False for stores
   * that keep ids unique only within a stream (EventStoreDB): commands stay idempotent there because
   * the command bus looks their id up in the target stream.
   */
  readonly crossStreamIdConflict?: boolean;
  /**
   * A batch appended again with an expected revision that is now stale returns the original result;
   * default true. False for stores that recognise a repeat only at the revision it first stated
   * (EventStoreDB): the command bus then replays the command from the stream by its id.
   */
  readonly staleRetryIsIdempotent?: boolean;
}

/** A case registered only where it applies; where it does not, its describe title says so (see unless). */
const itWhen =
  (applies: boolean) =>
  (name: string, fn: jest.ProvidesCallback): void => {
    if (applies) it(name, fn);
  };

/** A describe title's note on the cases left out for this store, and why: empty when all apply. */
const unless = (cases: ReadonlyArray<readonly [applies: boolean, leftOut: string]>): string => {
  const leftOut = cases.filter(([applies]) => !applies).map(([, what]) => what);
  return leftOut.length === 0 ? '' : ` (does not apply to this store: ${leftOut.join('; ')})`;
};

const CROSS_STREAM_CASE = 'refusing an event id used in another stream, as it keeps ids unique within a stream only';
const STALE_RETRY_CASE = 'answering a repeat whose expected revision is stale, as it knows a repeat only at the revision first stated';

/**
 * The behaviour every EventStore adapter must show. It runs against a shared store that may hold
 * other events and may be written by others meanwhile: every test writes to streams of its own
 * (random names), and checks readAll and subscriptions only on those streams, from a position
 * taken just before its writes.
 */
export const describeEventStoreContract = (
  name: string,
  open: () => Promise<EventStore>,
  options: EventStoreContractOptions = {},
): void => {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 10_000;
  const crossStreamIdConflict = options.crossStreamIdConflict ?? true;
  const staleRetryIsIdempotent = options.staleRetryIsIdempotent ?? true;

  describe(`${name} event store contract`, () => {
    let store: EventStore;

    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await store?.close();
    });

    /** A position no later than any event appended after this call returns. */
    const positionNow = async (): Promise<number> =>
      (await store.append(streamName('marker'), [newEvent()], 'no_stream')).position;

    /** Every event after `after` that belongs to `streams`, paging through readAll to its end. */
    const readAllOf = async (after: number, streams: ReadonlySet<string>): Promise<RecordedEvent[]> => {
      const ours: RecordedEvent[] = [];
      for (let from = after; ; ) {
        const page = await store.readAll({ after: from, maxCount: 500 });
        if (page.length === 0) return ours;
        ours.push(...page.filter((event) => streams.has(event.streamId)));
        from = page[page.length - 1].position;
      }
    };

    describe('append and readStream', () => {
      it('round-trips events with their metadata, at revisions 0..n-1 and increasing positions', async () => {
        const stream = streamName('round-trip');
        const events = [newEvent('First', { n: 1 }), newEvent('Second', { n: 2 }), newEvent('Third', { n: 3 })];

        const result = await store.append(stream, events, 'no_stream');
        const read = await store.readStream(stream);

        expect(read).toEqual(events.map((event, i) => ({ ...event, streamId: stream, revision: i, position: expect.any(Number) })));
        expectStrictlyIncreasing(read.map((event) => event.position));
        expect(result).toEqual({ nextRevision: 2, position: read[2].position });
        if (options.contiguousPositions) {
          expect(read.map((event) => event.position - read[0].position)).toEqual([0, 1, 2]);
        }
      });

      it('continues revisions across appends', async () => {
        const stream = streamName('continue');
        await store.append(stream, [newEvent()], 'no_stream');
        const second = await store.append(stream, [newEvent(), newEvent()], 0);

        expect(second.nextRevision).toBe(2);
        expect((await store.readStream(stream)).map((event) => event.revision)).toEqual([0, 1, 2]);
      });

      it('reads a window with fromRevision and maxCount', async () => {
        const stream = streamName('window');
        const events = Array.from({ length: 5 }, (_, i) => newEvent('Numbered', { i }));
        await store.append(stream, events, 'no_stream');

        expect((await store.readStream(stream, { fromRevision: 1, maxCount: 2 })).map((e) => e.id)).toEqual([
          events[1].id,
          events[2].id,
        ]);
        expect((await store.readStream(stream, { fromRevision: 3 })).map((e) => e.revision)).toEqual([3, 4]);
        expect((await store.readStream(stream, { maxCount: 1 })).map((e) => e.revision)).toEqual([0]);
        expect(await store.readStream(stream, { fromRevision: 5 })).toEqual([]);
      });

      it('reads a stream that does not exist as empty', async () => {
        expect(await store.readStream(streamName('missing'))).toEqual([]);
      });

      it('stores an event of a type no one knows, and reads its data back unchanged', async () => {
        const stream = streamName('unknown-type');
        const data = {
          zeta: 'last key first',
          alpha: [1, 2.5, -3, 0.1, 1e21, true, false, null, '', 'quote " backslash \\ newline \n tab \t'],
          nested: { empty: {}, list: [], deeper: { text: 'Ünïcødé 量子密钥 🔑', control: '\u0001\u001f' } },
          '': 'empty key',
        };
        const event = newEvent('SomethingFromANewerRelease', data);

        await store.append(stream, [event], 'no_stream');
        const [read] = await store.readStream(stream);
        const [fromAll] = (await store.readAll({ after: read.position - 1, maxCount: 1 }));

        expect(read.type).toBe('SomethingFromANewerRelease');
        expect(read.data).toEqual(data);
        expect(JSON.stringify(read.data)).toBe(JSON.stringify(data)); // key order too
        expect(read.metadata).toEqual(event.metadata);
        expect(fromAll).toEqual(read);
      });
    });

    describe('expected revision', () => {
      // Each case: how many events the stream holds first, what the append expects, and the
      // stream's last revision a refusal must report (undefined: the append succeeds).
      it.each([
        ['no_stream on a missing stream', 0, 'no_stream', undefined],
        ['no_stream on an existing stream', 2, 'no_stream', 1],
        ['an exact revision that is current', 2, 1, undefined],
        ['an exact revision that is stale', 2, 0, 1],
        ['an exact revision that is ahead', 2, 5, 1],
        ['an exact revision on a missing stream', 0, 0, -1],
        ['stream_exists on an existing stream', 1, 'stream_exists', undefined],
        ['stream_exists on a missing stream', 0, 'stream_exists', -1],
        ['any on a missing stream', 0, 'any', undefined],
        ['any on an existing stream', 3, 'any', undefined],
      ] as const)('%s', async (_, existing, expected, refusedAt) => {
        const stream = streamName('expected');
        if (existing > 0) await store.append(stream, events(existing), 'no_stream');
        const attempt = store.append(stream, [newEvent()], expected);

        if (refusedAt === undefined) {
          await expect(attempt).resolves.toMatchObject({ nextRevision: existing });
          expect(await store.readStream(stream)).toHaveLength(existing + 1);
        } else {
          const error = await attempt.then(() => undefined, (e: unknown) => e);
          expect(error).toBeInstanceOf(WrongExpectedRevisionError);
          expect(error).toMatchObject({ streamId: stream, expected, actual: refusedAt, code: 'WRONG_EXPECTED_REVISION' });
          expect(await store.readStream(stream)).toHaveLength(existing);
        }
      });

      it('lets exactly one of 50 concurrent appends with the same expected revision through', async () => {
        const stream = streamName('race');
        await store.append(stream, [newEvent()], 'no_stream');
        const batches = Array.from({ length: 50 }, () => events(2));

        const outcomes = await Promise.allSettled(batches.map((batch) => store.append(stream, batch, 0)));

        const winners = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [{ batch: batches[i], result: o.value }] : []));
        const losers = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
        expect(winners).toHaveLength(1);
        expect(winners[0].result.nextRevision).toBe(2);
        expect(losers).toHaveLength(49);
        for (const loser of losers) {
          expect(loser).toBeInstanceOf(WrongExpectedRevisionError);
          expect(loser).toMatchObject({ expected: 0, actual: 2 });
        }
        const read = await store.readStream(stream);
        expect(read.slice(1).map((event) => event.id)).toEqual(winners[0].batch.map((event) => event.id));
        expect(read).toHaveLength(3);
      });
    });

    describe(`atomicity${unless([[crossStreamIdConflict, CROSS_STREAM_CASE]])}`, () => {
      itWhen(crossStreamIdConflict)('writes nothing of a batch whose last event reuses an id of another stream', async () => {
        const other = streamName('owner');
        const taken = newEvent();
        await store.append(other, [taken], 'no_stream');
        const stream = streamName('atomic');

        await expect(store.append(stream, [newEvent(), newEvent(), { ...newEvent(), id: taken.id }], 'any')).rejects.toThrow(
          taken.id,
        );
        expect(await store.readStream(stream)).toEqual([]);
        expect(await store.readStream(other)).toHaveLength(1);
      });

      it('writes nothing of a batch whose data cannot be stored as JSON', async () => {
        const stream = streamName('atomic-json');
        const unstorable = { ...newEvent(), data: { amount: BigInt(1) } };

        await expect(store.append(stream, [newEvent(), unstorable], 'no_stream')).rejects.toThrow(TypeError);
        expect(await store.readStream(stream)).toEqual([]);
      });

      it('writes nothing of a batch refused for its expected revision', async () => {
        const stream = streamName('atomic-revision');
        await store.append(stream, [newEvent()], 'no_stream');

        await expect(store.append(stream, events(3), 'no_stream')).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        expect(await store.readStream(stream)).toHaveLength(1);
      });
    });

    const idempotencyCasesLeftOut = unless([
      [crossStreamIdConflict, CROSS_STREAM_CASE],
      [staleRetryIsIdempotent, STALE_RETRY_CASE],
    ]);
    describe(`idempotency by event id${idempotencyCasesLeftOut}`, () => {
      itWhen(staleRetryIsIdempotent)('answers a repeated append with the original result and writes nothing, even when its expectation is stale', async () => {
        const stream = streamName('retry');
        const batch = events(2);
        const before = await positionNow();
        const original = await store.append(stream, batch, 'no_stream');
        await store.append(stream, [newEvent()], 1); // the stream moves on; the retry's no_stream is now stale

        // Marked replayed: what is stored under these ids may not be what the repeat carried.
        const repeated = { ...original, replayed: true };
        await expect(store.append(stream, batch, 'no_stream')).resolves.toEqual(repeated);
        await expect(store.append(stream, batch, 'any')).resolves.toEqual(repeated);
        await expect(store.append(stream, batch, 0)).resolves.toEqual(repeated);

        const read = await store.readStream(stream);
        expect(read.map((event) => event.id)).toEqual([...batch.map((event) => event.id), read[2].id]);
        const all = await readAllOf(before, new Set([stream]));
        expect(all.map((event) => event.id)).toEqual(read.map((event) => event.id));
      });

      itWhen(crossStreamIdConflict)('refuses an event id already used in another stream, naming the id', async () => {
        const first = streamName('first-owner');
        const event = newEvent();
        await store.append(first, [event], 'no_stream');
        const second = streamName('second-owner');

        await expect(store.append(second, [event], 'no_stream')).rejects.toThrow(event.id);
        expect(await store.readStream(second)).toEqual([]);
      });

      it('refuses a batch that mixes stored events with new ones', async () => {
        const stream = streamName('mixed');
        const stored = newEvent();
        await store.append(stream, [stored], 'no_stream');

        await expect(store.append(stream, [stored, newEvent()], 'any')).rejects.toThrow(stored.id);
        expect(await store.readStream(stream)).toHaveLength(1);
      });
    });

    describe('readAll', () => {
      it('knows the position of its newest event', async () => {
        const first = await store.append(streamName('last'), [newEvent()], 'no_stream');
        expect(await store.lastPosition()).toBe(first.position);
        const second = await store.append(streamName('last'), [newEvent(), newEvent()], 'any');
        expect(await store.lastPosition()).toBe(second.position);
        expect(await store.readAll({ after: second.position, maxCount: 1 })).toEqual([]);
      });

      it('returns events of all streams in global order, honouring after and maxCount', async () => {
        const a = streamName('all-a');
        const b = streamName('all-b');
        const before = await positionNow();
        const appended = [
          { stream: a, event: newEvent() },
          { stream: b, event: newEvent() },
          { stream: a, event: newEvent() },
          { stream: b, event: newEvent() },
        ];
        for (const { stream, event } of appended) await store.append(stream, [event], 'any');

        const ours = await readAllOf(before, new Set([a, b]));
        expect(ours.map((event) => [event.streamId, event.id])).toEqual(appended.map(({ stream, event }) => [stream, event.id]));
        expectStrictlyIncreasing(ours.map((event) => event.position));

        const two = await store.readAll({ after: before, maxCount: 2 });
        expect(two).toHaveLength(2);
        expect(two[0].position).toBeGreaterThan(before);
        expectStrictlyIncreasing(two.map((event) => event.position));
        const afterFirst = await store.readAll({ after: two[0].position, maxCount: 1 });
        expect(afterFirst).toEqual([two[1]]);
      });

      it('shows every event of 10 concurrent writers exactly once, in increasing positions', async () => {
        const writers = Array.from({ length: 10 }, (_, i) => streamName(`writer-${i}`));
        const before = await positionNow();

        await Promise.all(
          writers.map(async (stream) => {
            for (let revision = 0; revision < 20; revision++) {
              await store.append(stream, [newEvent('Written', { revision })], revision === 0 ? 'no_stream' : revision - 1);
            }
          }),
        );

        const ours = await readAllOf(before, new Set(writers));
        expect(ours).toHaveLength(200);
        expect(new Set(ours.map((event) => event.id)).size).toBe(200);
        expectStrictlyIncreasing(ours.map((event) => event.position));
        for (const stream of writers) {
          expect(ours.filter((event) => event.streamId === stream).map((event) => event.revision)).toEqual(range(20));
        }
        if (options.contiguousPositions) {
          const last = ours[ours.length - 1].position;
          const everything = await store.readAll({ after: before, maxCount: last - before });
          expect(everything.map((event) => event.position)).toEqual(range(last - before).map((i) => before + 1 + i));
        }
      });
    });

    describe('subscribe', () => {
      let subscriptions: Subscription[] = [];
      afterEach(async () => {
        await Promise.all(subscriptions.map((subscription) => subscription.close()));
        subscriptions = [];
      });

      /** Subscribes from `after`, recording our streams' events and any overlap between handler calls. */
      const watch = (after: number, streams: ReadonlySet<string>) => {
        const seen: RecordedEvent[] = [];
        const positions: number[] = [];
        const state = { running: 0, overlapped: false, error: undefined as Error | undefined };
        subscriptions.push(
          store.subscribe({
            after,
            onEvent: async (event) => {
              state.running++;
              state.overlapped ||= state.running > 1;
              await new Promise((resolve) => setImmediate(resolve)); // a handler that yields, so overlap would show
              positions.push(event.position);
              if (streams.has(event.streamId)) seen.push(event);
              state.running--;
            },
            onError: (error) => {
              state.error = error;
            },
          }),
        );
        return { seen, positions, state };
      };

      const waitFor = async (what: string, done: () => boolean): Promise<void> => {
        const deadline = Date.now() + deliveryTimeoutMs;
        while (!done()) {
          if (Date.now() > deadline) throw new Error(`timed out after ${deliveryTimeoutMs} ms waiting for ${what}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };

      it('delivers every event after a mid-stream position exactly once, in order, through catch-up and live', async () => {
        const stream = streamName('subscribed');
        const sentinel = streamName('sentinel');
        const early = events(10);
        for (const [i, event] of early.entries()) await store.append(stream, [event], i - 1 < 0 ? 'no_stream' : i - 1);
        const [fifth] = await store.readStream(stream, { fromRevision: 4, maxCount: 1 });

        const watcher = watch(fifth.position, new Set([stream, sentinel]));
        const duringCatchUp = events(10);
        for (const [i, event] of duringCatchUp.entries()) await store.append(stream, [event], 9 + i);
        await waitFor('catch-up', () => watcher.seen.length >= 15);
        const live = events(5);
        for (const [i, event] of live.entries()) await store.append(stream, [event], 19 + i);
        await store.append(sentinel, [newEvent()], 'no_stream');
        await waitFor('live events and the sentinel', () => watcher.seen.some((event) => event.streamId === sentinel));

        const delivered = watcher.seen.filter((event) => event.streamId === stream);
        expect(delivered.map((event) => event.id)).toEqual([...early.slice(5), ...duringCatchUp, ...live].map((e) => e.id));
        expect(delivered.map((event) => event.revision)).toEqual(range(20).map((i) => i + 5));
        expect(watcher.positions[0]).toBeGreaterThan(fifth.position);
        expectStrictlyIncreasing(watcher.positions);
        expect(watcher.state.overlapped).toBe(false);
        expect(watcher.state.error).toBeUndefined();
      });

      it('delivers nothing after close', async () => {
        const stream = streamName('closed');
        const before = await positionNow();
        const closing = watch(before, new Set([stream]));
        const witness = watch(before, new Set([stream]));
        await store.append(stream, [newEvent()], 'no_stream');
        await waitFor('the first event', () => closing.seen.length === 1);

        await subscriptions[0].close();
        await store.append(stream, [newEvent()], 0);
        await waitFor('the witness to see the second event', () => witness.seen.length === 2);

        expect(closing.seen).toHaveLength(1);
      });

      it('stops and reports once when a handler fails, delivering nothing after', async () => {
        const stream = streamName('failing');
        const before = await positionNow();
        const witness = watch(before, new Set([stream]));
        const calls: RecordedEvent[] = [];
        const errors: Error[] = [];
        const failure = new Error('projection failed');
        subscriptions.push(
          store.subscribe({
            after: before,
            onEvent: (event) => {
              calls.push(event);
              throw failure;
            },
            onError: (error) => errors.push(error),
          }),
        );

        await store.append(stream, events(2), 'no_stream');
        await waitFor('the failure report', () => errors.length > 0);
        await store.append(stream, events(2), 1);
        await waitFor('the witness to see every event', () => witness.seen.length === 4);

        expect(errors).toEqual([failure]);
        expect(calls).toHaveLength(1);
      });
    });
  });
};

const newEvent = (type = 'ContractChecked', data: unknown = { check: 'contract' }): NewEvent => sampleEvent({ type, data });

const events = (count: number): NewEvent[] => Array.from({ length: count }, () => newEvent());

const streamName = (purpose: string): string => `contract-${purpose}-${randomUUID()}`;

const range = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

const expectStrictlyIncreasing = (positions: readonly number[]): void => {
  positions.slice(1).forEach((position, i) => expect(position).toBeGreaterThan(positions[i]));
};
