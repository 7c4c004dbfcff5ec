import { Readable } from 'node:stream';
import {
  EventStoreDBClient,
  Position,
  StreamNotFoundError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import {
  EventMetadata,
  NewEvent,
  RecordedEvent,
  StoreUnavailableError,
  WrongExpectedRevisionError,
} from '../../application/ports/event-store';
import { EventIdConflictError } from '../../application/ports/event-store';
import { EventStoreDbEventStore } from '../../infrastructure/event-store/eventstoredb';
import {
  ClientRecordedEvent,
  comparePositions,
  readAllStart,
  isInvalidPosition,
  isPortEvent,
  toActualRevision,
  toAppendExpectedRevision,
  toAppendRefusal,
  toEventData,
  toRecordedEvent,
  toSafeNumber,
} from '../../infrastructure/event-store/eventstoredb-mapping';
import { sampleMetadata } from '../support/events';

const metadata: EventMetadata = sampleMetadata();

const otherId = '0c6f3a1e-94d2-4b7f-8e15-3a9d2c4b6f70';

const recorded = (overrides: Partial<ClientRecordedEvent> = {}): ClientRecordedEvent => ({
  streamId: 'device-UKEY-000001',
  id: '7f1c0a52-3a4e-4c1b-9d0e-6d7f2b1a9c01',
  revision: 2n,
  type: 'DeviceInitialized',
  data: { serial: 'UKEY-000001' },
  metadata,
  position: { commit: 4096n, prepare: 4096n },
  ...overrides,
});

describe('expected revision mapping', () => {
  it.each([
    ['any', 'any'],
    ['no_stream', 'no_stream'],
    ['stream_exists', 'stream_exists'],
    [0, 0n],
    [41, 41n],
  ] as const)('maps %p to %p', (ours, theirs) => {
    expect(toAppendExpectedRevision(ours)).toBe(theirs);
  });
});

describe('64-bit counters', () => {
  it('converts exactly up to 2^53 - 1', () => {
    expect(toSafeNumber(BigInt(Number.MAX_SAFE_INTEGER), 'log position')).toBe(Number.MAX_SAFE_INTEGER);
    expect(toSafeNumber(0n, 'log position')).toBe(0);
  });

  it('refuses a value a number cannot hold exactly, naming what it was', () => {
    expect(() => toSafeNumber(BigInt(Number.MAX_SAFE_INTEGER) + 1n, 'log position')).toThrow(/log position 9007199254740992/);
    expect(() => toSafeNumber(-1n, 'stream revision')).toThrow(RangeError);
  });

  it('reads a missing stream as revision -1', () => {
    expect(toActualRevision('no_stream')).toBe(-1);
    expect(toActualRevision(-1n)).toBe(-1);
    expect(toActualRevision(7n)).toBe(7);
  });
});

describe('positions', () => {
  it('reads position 0 as the start of the log, and any other as that record', () => {
    expect(readAllStart(0)).toBe('start');
    expect(readAllStart(1234)).toEqual({ commit: 1234n, prepare: 1234n });
  });

  it('tells a refused start position from other failures', () => {
    const refused = Object.assign(new UnknownError(), { code: 3, message: '3 INVALID_ARGUMENT: Trying to read from an invalid position.' });
    expect(isInvalidPosition(refused)).toBe(true);
    expect(isInvalidPosition(new UnavailableError())).toBe(false);
    expect(isInvalidPosition('invalid position')).toBe(false);
  });

  it('orders positions by commit, then prepare', () => {
    const at = (commit: bigint, prepare: bigint): Position => ({ commit, prepare });
    expect(comparePositions(at(1n, 9n), at(2n, 0n))).toBe(-1);
    expect(comparePositions(at(2n, 5n), at(2n, 4n))).toBe(1);
    expect(comparePositions(at(3n, 3n), at(3n, 3n))).toBe(0);
  });
});

describe('event mapping', () => {
  it('writes our id, type, data and metadata as a JSON event', () => {
    const event: NewEvent = { id: recorded().id, type: 'DeviceInitialized', data: { serial: 'UKEY-000001' }, metadata };
    expect(toEventData(event)).toEqual({
      id: event.id,
      contentType: 'application/json',
      type: 'DeviceInitialized',
      data: { serial: 'UKEY-000001' },
      metadata,
    });
  });

  it('reads a recorded event with its revision and commit position as numbers', () => {
    expect(toRecordedEvent({ event: recorded() })).toEqual<RecordedEvent>({
      id: recorded().id,
      type: 'DeviceInitialized',
      data: { serial: 'UKEY-000001' },
      metadata,
      streamId: 'device-UKEY-000001',
      revision: 2,
      position: 4096,
    });
  });

  it("falls back to the resolved event's commit position", () => {
    expect(toRecordedEvent({ event: recorded({ position: undefined }), commitPosition: 512n }).position).toBe(512);
  });

  it.each([undefined, { commit: 2n ** 64n - 1n, prepare: 2n ** 64n - 1n }])(
    'says which server version is needed when the position is %p',
    (position) => {
      expect(() => toRecordedEvent({ event: recorded({ position }) })).toThrow(/without its log position; use EventStoreDB 22.6 or later/);
    },
  );

  it.each([undefined, 'text', [1, 2], new Uint8Array([1])])('refuses metadata %p, naming the event', (bad) => {
    expect(() => toRecordedEvent({ event: recorded({ metadata: bad }) })).toThrow(
      /event 7f1c0a52-3a4e-4c1b-9d0e-6d7f2b1a9c01 \(stream device-UKEY-000001, revision 2\) has no JSON metadata object/,
    );
  });

  it("leaves out the server's own events", () => {
    expect(isPortEvent({ streamId: 'device-1', type: '$metadata' })).toBe(false);
    expect(isPortEvent({ streamId: '$stats-127.0.0.1:2113', type: 'StatsCollected' })).toBe(false);
    expect(isPortEvent({ streamId: 'device-1', type: 'DeviceInitialized' })).toBe(true);
  });
});

describe('append refusals', () => {
  const first = recorded().id;

  it.each([
    ['a stale revision', 0, 2n, 2],
    ['no_stream on an existing stream', 'no_stream', 0n, 0],
    ['a revision ahead of the stream', 5, 1n, 1],
    ['stream_exists on a missing stream', 'stream_exists', 'no_stream', -1],
  ] as const)('reports %s as a wrong expected revision, with the revision the server reported', (_, expected, current, actual) => {
    const refusal = toAppendRefusal('device-1', first, expected, current);
    expect(refusal).toBeInstanceOf(WrongExpectedRevisionError);
    expect(refusal).toMatchObject({ streamId: 'device-1', expected, actual });
  });

  it.each([
    ['any', 0n],
    ['stream_exists', 3n],
  ] as const)('reports a refusal of %s on a stream at %p as a batch that repeats stored events in part, naming the first', (expected, current) => {
    const refusal = toAppendRefusal('device-1', first, expected, current);
    expect(refusal).toBeInstanceOf(EventIdConflictError);
    expect(refusal).toMatchObject({ streamId: 'device-1', eventId: first, code: 'EVENT_ID_CONFLICT' });
    expect(refusal.message).toMatch(/mixes events already stored with new ones/);
  });
});

// Paging, append and failure paths of the adapter over stub clients that each answer one call as
// the server does; the shared contract suite runs against a real server in
// test/contract/eventstoredb.test.ts when EVENTSTORE_URL is set.
describe('EventStoreDB adapter over a stub client', () => {
  interface Entry {
    streamId: string;
    type: string;
    position: Position;
  }

  // $all as the server keeps it: its own events among ours, positions as byte offsets.
  const logOf = (count: number): Entry[] =>
    Array.from({ length: count }, (_, i) => ({
      streamId: i % 7 === 3 ? '$stats-node' : `device-${i % 5}`,
      type: i % 11 === 5 ? '$metadata' : 'DeviceInitialized',
      position: { commit: BigInt(100 + i * 64), prepare: BigInt(100 + i * 64) },
    }));

  const resolve = (entry: Entry, index: number) => ({
    event: recorded({
      streamId: entry.streamId,
      type: entry.type,
      id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      revision: BigInt(index),
      position: entry.position,
    }),
  });

  const storeOver = (client: object) => new EventStoreDbEventStore(client as EventStoreDBClient);

  /** A read of $all includes the event at its start position, as the server's does. */
  const readAllClient = (log: Entry[]) => {
    const calls: number[] = [];
    const client = {
      readAll: ({ fromPosition, maxCount }: { fromPosition: 'start' | Position; maxCount: number }) => {
        calls.push(maxCount);
        const start = fromPosition === 'start' ? 0 : log.findIndex((e) => comparePositions(e.position, fromPosition) >= 0);
        return Readable.from(start < 0 ? [] : log.slice(start, start + maxCount).map((e) => resolve(e, log.indexOf(e))));
      },
    };
    return { client, calls };
  };

  const ours = (log: Entry[]) => log.filter(isPortEvent).map((e) => Number(e.position.commit));

  it('reads all of our events across pages, in order, without the server events', async () => {
    const log = logOf(1300);
    const { client, calls } = readAllClient(log);
    const events = await storeOver(client).readAll();
    expect(events.map((e) => e.position)).toEqual(ours(log));
    expect(calls.length).toBeGreaterThan(2);
  });

  it('starts strictly after a position and stops at maxCount', async () => {
    const log = logOf(1300);
    const { client } = readAllClient(log);
    const after = ours(log)[600];
    const events = await storeOver(client).readAll({ after, maxCount: 450 });
    expect(events.map((e) => e.position)).toEqual(ours(log).slice(601, 1051));
  });

  it('reads the single event right after a position', async () => {
    const log = logOf(20);
    const { client } = readAllClient(log);
    const events = await storeOver(client).readAll({ after: ours(log)[2], maxCount: 1 });
    expect(events.map((e) => e.position)).toEqual([ours(log)[3]]);
  });

  it('reads nothing after the last position', async () => {
    const log = logOf(20);
    const { client } = readAllClient(log);
    expect(await storeOver(client).readAll({ after: ours(log).at(-1)! })).toEqual([]);
  });

  it('reads a missing stream as empty', async () => {
    const client = {
      readStream: () =>
        new Readable({
          objectMode: true,
          read() {
            this.destroy(new StreamNotFoundError(undefined, 'device-404'));
          },
        }),
    };
    expect(await storeOver(client).readStream('device-404')).toEqual([]);
  });

  describe('append', () => {
    const event: NewEvent = { id: recorded().id, type: 'DeviceInitialized', data: { serial: 'UKEY-000001' }, metadata };

    /** A client that answers every append with `answer` and records what it was asked. */
    const appendClient = (answer: () => Promise<unknown>, read?: (stream: string, options: { fromRevision: bigint }) => Readable) => {
      const appends: Array<{ stream: string; ids: string[]; expectedRevision: unknown }> = [];
      const client = {
        appendToStream: (stream: string, events: Array<{ id: string }>, options: { expectedRevision: unknown }) => {
          appends.push({ stream, ids: events.map((e) => e.id), expectedRevision: options.expectedRevision });
          return answer();
        },
        ...(read ? { readStream: read } : {}),
      };
      return { client, appends };
    };

    it('writes the batch in one call with the expected revision, and answers with what the server reports', async () => {
      const { client, appends } = appendClient(async () => ({
        success: true,
        nextExpectedRevision: 2n,
        position: { commit: 4096n, prepare: 4096n },
      }));
      expect(await storeOver(client).append('device-1', [event], 1)).toEqual({ nextRevision: 2, position: 4096 });
      expect(appends).toEqual([{ stream: 'device-1', ids: [event.id], expectedRevision: 1n }]);
    });

    it('reads the position from the event when the server answers a repeated batch without one', async () => {
      const reads: bigint[] = [];
      const { client, appends } = appendClient(
        async () => ({ success: true, nextExpectedRevision: 2n, position: undefined }),
        (_, options) => {
          reads.push(options.fromRevision);
          return Readable.from([{ event: recorded({ revision: options.fromRevision, position: { commit: 777n, prepare: 777n } }) }]);
        },
      );
      expect(await storeOver(client).append('device-1', [event], 1)).toEqual({ nextRevision: 2, position: 777 });
      expect(appends).toHaveLength(1);
      expect(reads).toEqual([2n]);
    });

    it.each([
      ['thrown', (current: bigint) => Promise.reject(new WrongExpectedVersionError(undefined, { streamName: 'device-1', expected: 0n, current }))],
      ['returned (throwOnAppendFailure=false)', async (current: bigint) => ({ success: false, nextExpectedRevision: current, position: undefined })],
    ])('turns a refusal the client %s into the port error, writing nothing else', async (_, refuse) => {
      const { client, appends } = appendClient(() => refuse(4n));
      const error = await storeOver(client).append('device-1', [event], 0).then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ streamId: 'device-1', expected: 0, actual: 4 });
      expect(appends).toHaveLength(1);
    });

    it('names the stored event when the server refuses an append that expected any revision', async () => {
      const { client } = appendClient(() =>
        Promise.reject(new WrongExpectedVersionError(undefined, { streamName: 'device-1', expected: 'any', current: 0n })),
      );
      await expect(storeOver(client).append('device-1', [event, { ...event, id: otherId }], 'any')).rejects.toThrow(
        new RegExp(`cannot append event ${event.id} to stream device-1: the append mixes`),
      );
    });

    it('reports any other failure as StoreUnavailableError', async () => {
      const { client } = appendClient(() => Promise.reject(new UnavailableError()));
      await expect(storeOver(client).append('device-1', [event], 'any')).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });

  describe('subscribe', () => {
    const subscribeClient = (source: Readable) => ({
      subscribeToAll: () => Object.assign(source, { unsubscribe: async () => undefined }),
    });

    const until = async (done: () => boolean) => {
      for (let i = 0; i < 400 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    };

    it.each([
      ['a dropped connection', () => new UnavailableError()],
      ['a stream the server ends', undefined],
    ])('reports %s once, as StoreUnavailableError', async (_, failure) => {
      const source = new Readable({
        objectMode: true,
        read() {
          if (failure) this.destroy(failure());
          else this.push(null);
        },
      });
      const errors: Error[] = [];
      storeOver(subscribeClient(source)).subscribe({ onEvent: () => undefined, onError: (error) => errors.push(error) });
      await until(() => errors.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(StoreUnavailableError);
    });

    it('delivers only events strictly after the position, whatever the server sends first', async () => {
      const log = logOf(12);
      const seen: number[] = [];
      const subscription = storeOver(subscribeClient(Readable.from(log.map(resolve)))).subscribe({
        after: ours(log)[3],
        onEvent: (event) => void seen.push(event.position),
        onError: () => undefined,
      });
      await until(() => seen.length === ours(log).length - 4);
      await subscription.close();
      expect(seen).toEqual(ours(log).slice(4));
    });

    it('lets a handler close its own subscription', async () => {
      const log = logOf(10);
      const seen: number[] = [];
      const subscription = storeOver(subscribeClient(Readable.from(log.map(resolve)))).subscribe({
        onEvent: async (event) => {
          seen.push(event.position);
          await subscription.close();
        },
        onError: (error) => {
          throw error;
        },
      });
      await until(() => seen.length > 0);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen).toEqual([ours(log)[0]]);
    });
  });
});
