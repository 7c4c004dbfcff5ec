import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AppendExpectedRevision,
  EventData,
  EventStoreDBClient,
  Position,
  ReadPosition,
  ReadRevision,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { EventStore, NewEvent, StoreUnavailableError } from '../../application/ports/event-store';
import { EventStoreDbEventStore, openEventStoreDb } from '../../infrastructure/event-store/eventstoredb';
import { describeEventStoreContract } from './event-store.contract';

const url = process.env.EVENTSTORE_URL;

if (url === undefined) {
  describe('EventStoreDB contract suite', () => {
    it('is skipped because EVENTSTORE_URL is not set; run it with EVENTSTORE_URL=esdb://127.0.0.1:2113?tls=false', () => {
      console.warn(
        'EventStoreDB contract suite skipped: EVENTSTORE_URL is not set. Start EventStoreDB 23+ or KurrentDB 25 ' +
          '(insecure mode) and run: EVENTSTORE_URL=esdb://127.0.0.1:2113?tls=false npx jest test/contract/eventstoredb.test.ts',
      );
      expect(url).toBeUndefined();
    });
  });
} else {
  describeEventStoreContract('EventStoreDB', async () => openEventStoreDb(url), { contiguousPositions: false });
}

interface LogRecord {
  readonly streamId: string;
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly revision: bigint;
  readonly position: Position;
}

/**
 * The server behaviour the adapter relies on, in memory, so the contract also runs where no
 * server does: byte-offset positions valid only at record starts (readAll includes its start,
 * a backwards read and a subscription exclude it), the server's own events in $all, expected
 * revision checks, and a repeated batch at its own place answered without a position.
 */
class SimulatedServer {
  private readonly log: LogRecord[] = [];
  private readonly streams = new Map<string, LogRecord[]>();
  private readonly live = new Set<(record: LogRecord) => void>();
  private end = 0n;
  private appends = 0;

  async appendToStream(streamName: string, events: EventData | EventData[], options: { expectedRevision?: AppendExpectedRevision } = {}) {
    const batch = Array.isArray(events) ? events : [events];
    const expected = options.expectedRevision ?? 'any';
    const stream = this.streams.get(streamName) ?? [];
    const at = expected === 'no_stream' ? 0 : typeof expected === 'bigint' ? Number(expected) + 1 : undefined;
    if (at !== undefined && stream.length >= at + batch.length && batch.every((e, i) => stream[at + i].id === e.id)) {
      return { success: true, nextExpectedRevision: BigInt(at + batch.length - 1), position: undefined };
    }
    const current = stream.length - 1;
    const matches =
      expected === 'any' ||
      (expected === 'no_stream' && current < 0) ||
      (expected === 'stream_exists' && current >= 0) ||
      expected === BigInt(current);
    if (!matches) {
      throw new WrongExpectedVersionError(undefined, { streamName, expected, current: current < 0 ? 'no_stream' : BigInt(current) });
    }
    for (const event of batch) this.record(streamName, event.id, event.type, event.data, event.metadata);
    if (++this.appends % 3 === 0) this.record('$stats-127.0.0.1:2113', randomUUID(), '$statsCollected', {}, {});
    const last = this.streams.get(streamName)!.at(-1)!;
    return { success: true, nextExpectedRevision: last.revision, position: last.position };
  }

  readStream(streamName: string, options: { fromRevision?: ReadRevision; maxCount?: number | bigint; direction?: string } = {}) {
    const stream = this.streams.get(streamName);
    if (stream === undefined) return failing(new StreamNotFoundError(undefined, streamName));
    const ordered = options.direction === 'backwards' ? [...stream].reverse() : stream;
    const from = typeof options.fromRevision === 'bigint' ? ordered.findIndex((r) => r.revision === options.fromRevision) : 0;
    return resolved(from < 0 ? [] : ordered.slice(from, from + Number(options.maxCount ?? Number.MAX_SAFE_INTEGER)));
  }

  readAll(options: { fromPosition?: ReadPosition; maxCount?: number | bigint; direction?: string } = {}) {
    const maxCount = Number(options.maxCount ?? Number.MAX_SAFE_INTEGER);
    const from = options.fromPosition ?? 'start';
    if (typeof from !== 'string' && from.commit <= this.end && !this.isBoundary(from)) {
      return failing(Object.assign(new Error('3 INVALID_ARGUMENT: Trying to read from an invalid position.'), { code: 3 }));
    }
    if (options.direction === 'backwards') {
      const before = from === 'end' ? this.log : this.log.filter((r) => typeof from === 'string' || r.position.commit < from.commit);
      return resolved([...before].reverse().slice(0, maxCount));
    }
    return resolved(this.log.filter((r) => typeof from === 'string' || r.position.commit >= from.commit).slice(0, maxCount));
  }

  subscribeToAll(options: { fromPosition?: ReadPosition } = {}) {
    const from = options.fromPosition ?? 'start';
    const source = new Readable({ objectMode: true, read() {} });
    const push = (record: LogRecord) => {
      if (!record.type.startsWith('$')) source.push({ event: record });
    };
    for (const record of this.log) if (typeof from === 'string' || record.position.commit > from.commit) push(record);
    this.live.add(push);
    return Object.assign(source, {
      unsubscribe: async () => {
        this.live.delete(push);
        source.push(null);
      },
    });
  }

  async dispose(): Promise<void> {}

  private isBoundary(position: Position): boolean {
    return position.commit === this.end || this.log.some((r) => r.position.commit === position.commit);
  }

  private record(streamId: string, id: string, type: string, data: unknown, metadata: unknown): void {
    const stream = this.streams.get(streamId) ?? [];
    const bytes = JSON.stringify({ data, metadata });
    const record: LogRecord = {
      streamId,
      id,
      type,
      // Stored as bytes, read back as a fresh parse.
      ...(JSON.parse(bytes) as { data: unknown; metadata: unknown }),
      revision: BigInt(stream.length),
      position: { commit: this.end, prepare: this.end },
    };
    this.end += BigInt(100 + bytes.length);
    stream.push(record);
    this.streams.set(streamId, stream);
    this.log.push(record);
    for (const push of this.live) push(record);
  }
}

const resolved = (records: readonly LogRecord[]) => Readable.from(records.map((event) => ({ event })));

const failing = (error: Error) =>
  new Readable({
    objectMode: true,
    read() {
      this.destroy(error);
    },
  });

describeEventStoreContract(
  'EventStoreDB adapter over a simulated server',
  async () => new EventStoreDbEventStore(new SimulatedServer() as unknown as EventStoreDBClient),
  { contiguousPositions: false },
);

describe('EventStoreDB that cannot be reached', () => {
  // Nothing listens on port 1; the deadline bounds the calls that would otherwise wait.
  const unreachable = 'esdb://127.0.0.1:1?tls=false&defaultDeadline=2000';
  let store: EventStore;
  beforeEach(() => {
    store = openEventStoreDb(unreachable);
  });
  afterEach(() => store.close());

  const event: NewEvent = {
    id: '3b0e8e0a-6f1d-4c55-9a8e-2f4b7c1d0e11',
    type: 'DeviceInitialized',
    data: { serial: 'UKEY-000001' },
    metadata: {
      actorId: 'admin-1',
      actorRole: 'SECURITY_ADMIN',
      commandId: 'cmd-1',
      commandType: 'InitializeDevice',
      correlationId: 'cmd-1',
      causationId: 'cmd-1',
      occurredAt: '2026-01-01T00:00:00.000Z',
    },
  };

  const failureWithin = async (seconds: number, call: () => Promise<unknown>): Promise<unknown> => {
    const started = Date.now();
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(seconds * 1000);
    return error;
  };

  it.each([
    ['append', (s: EventStore) => s.append('device-UKEY-000001', [event], 'no_stream')],
    ['readStream', (s: EventStore) => s.readStream('device-UKEY-000001')],
    ['readAll', (s: EventStore) => s.readAll({ maxCount: 10 })],
  ])('%s rejects with StoreUnavailableError within a few seconds', async (_, call) => {
    const error = await failureWithin(5, () => call(store));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).message).toMatch(/EventStoreDB event store is unavailable/);
  });

  it('subscribe reports StoreUnavailableError through onError within a few seconds', async () => {
    const error = await failureWithin(
      5,
      () =>
        new Promise<void>((_, reject) => {
          store.subscribe({ onEvent: () => undefined, onError: reject });
        }),
    );
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });
});
