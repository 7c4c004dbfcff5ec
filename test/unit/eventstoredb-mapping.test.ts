import { Readable } from 'node:stream';
import {
  EventStoreDBClient,
  Position,
  StreamNotFoundError,
  UnavailableError,
  UnknownError,
} from '@eventstore/db-client';
import { EventMetadata, NewEvent, RecordedEvent, StoreUnavailableError } from '../../application/ports/event-store';
import { EventStoreDbEventStore } from '../../infrastructure/event-store/eventstoredb';
import {
  claimOwnerOf,
  claimStreamOf,
  ClientRecordedEvent,
  comparePositions,
  readAllStart,
  isInvalidPosition,
  isPortEvent,
  toActualRevision,
  toAppendExpectedRevision,
  toClaimData,
  toEventData,
  toRecordedEvent,
  toSafeNumber,
} from '../../infrastructure/event-store/eventstoredb-mapping';

const metadata: EventMetadata = {
  actorId: 'admin-1',
  actorRole: 'SECURITY_ADMIN',
  commandId: 'cmd-1',
  commandType: 'InitializeDevice',
  correlationId: 'cmd-1',
  causationId: 'cmd-1',
  occurredAt: '2026-01-01T00:00:00.000Z',
};

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

  it("leaves out the server's own events and the id claims", () => {
    expect(isPortEvent({ streamId: 'device-1', type: '$metadata' })).toBe(false);
    expect(isPortEvent({ streamId: '$stats-127.0.0.1:2113', type: 'StatsCollected' })).toBe(false);
    expect(isPortEvent({ streamId: claimStreamOf(recorded().id), type: 'EventIdClaimed' })).toBe(false);
    expect(isPortEvent({ streamId: 'device-1', type: 'DeviceInitialized' })).toBe(true);
  });
});

describe('event id claims', () => {
  it('claims an id in a stream of its own, naming the owning stream', () => {
    const id = recorded().id;
    const claim = toClaimData(id, 'device-UKEY-000001');
    expect(claim).toMatchObject({ type: 'EventIdClaimed', data: { streamId: 'device-UKEY-000001' } });
    expect(claimStreamOf(id)).toBe(`qkmp-event-id-${id}`);
    expect(claimOwnerOf({ event: recorded({ streamId: claimStreamOf(id), data: claim.data }) })).toBe('device-UKEY-000001');
  });

  it('gives the claim an id of its own per stream, the same on every retry', () => {
    const id = recorded().id;
    const claimId = toClaimData(id, 'device-A').id;
    expect(claimId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(toClaimData(id, 'device-A').id).toBe(claimId);
    expect(toClaimData(id, 'device-B').id).not.toBe(claimId);
    expect(claimId).not.toBe(id);
  });

  it('refuses a claim that names no stream', () => {
    expect(() => claimOwnerOf({ event: recorded({ streamId: 'qkmp-event-id-x', data: {} }) })).toThrow(
      /the id claim qkmp-event-id-x names no stream/,
    );
    expect(() => claimOwnerOf(undefined)).toThrow(/the id claim \(missing\) names no stream/);
  });
});

// Paging and failure paths of the adapter over a stub client; the shared contract suite runs
// against a simulated server in test/contract/eventstoredb.test.ts.
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

  it('reads the position of a write from the event when the server does not report it', async () => {
    const client = {
      appendToStream: async (stream: string) => ({
        success: true,
        nextExpectedRevision: stream.startsWith('qkmp-event-id-') ? 0n : 2n,
        position: stream.startsWith('qkmp-event-id-') ? { commit: 10n, prepare: 10n } : undefined,
      }),
      readStream: (_: string, options: { fromRevision: bigint }) =>
        Readable.from([{ event: recorded({ revision: options.fromRevision, position: { commit: 777n, prepare: 777n } }) }]),
    };
    const event: NewEvent = { id: recorded().id, type: 'DeviceInitialized', data: {}, metadata };
    expect(await storeOver(client).append('device-1', [event], 1)).toEqual({ nextRevision: 2, position: 777 });
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
