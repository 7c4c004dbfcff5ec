import {
  AllStreamResolvedEvent,
  BACKWARDS,
  END,
  EventStoreDBClient,
  excludeSystemEvents,
  Position,
  ReadStreamOptions as ClientReadStreamOptions,
  START,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscribeOptions,
  Subscription,
} from '../../application/ports/event-store';
import { storeFailure } from './errors';
import {
  comparePositions,
  readAllStart,
  isInvalidPosition,
  isPortEvent,
  isStreamNotFound,
  STORE_NAME,
  toAppendExpectedRevision,
  toAppendRefusal,
  toEventData,
  toLogPosition,
  toRecordedEvent,
  toSafeNumber,
} from './eventstoredb-mapping';
import { checkStreamId, prepareAppend, readAllWindow, readStreamWindow } from './input';

// Events read from $all per round trip; $all also holds the server's own events.
const PAGE_SIZE = 500;

const collect = async <T>(source: AsyncIterable<T>): Promise<T[]> => {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
};

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/**
 * The EventStore port over EventStoreDB, and KurrentDB, which speaks the same gRPC protocol. Event
 * ids behave as the server makes them, at the cost of one write per append: a batch repeated at
 * its own place (same ids, same expected revision; for `any`, while the server still remembers the
 * ids) is answered as already written, an id reused in another stream is not refused, and a repeat
 * that states another, now stale, revision is refused for it. Commands stay idempotent here as on
 * every store: the command bus finds a handled command by its id in the target stream.
 */
export class EventStoreDbEventStore implements EventStore {
  private readonly subscriptions = new Set<Subscription>();

  constructor(private readonly client: EventStoreDBClient) {}

  async append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    // Refuses malformed input, data that JSON cannot hold included, before anything is written.
    prepareAppend(streamId, events, expected);
    try {
      const result = await this.client.appendToStream(streamId, events.map(toEventData), {
        expectedRevision: toAppendExpectedRevision(expected),
      });
      // With throwOnAppendFailure=false in the connection string the client returns refusals instead of throwing.
      if (!result.success) throw toAppendRefusal(streamId, events[0].id, expected, result.nextExpectedRevision);
      const nextRevision = toSafeNumber(result.nextExpectedRevision, 'stream revision');
      // A repeated batch, and any write on servers that do not report positions, comes back
      // without one: the stored event still has it.
      const position =
        result.position === undefined
          ? (await this.read(streamId, { fromRevision: BigInt(nextRevision), maxCount: 1 }))[0].position
          : toSafeNumber(result.position.commit, 'log position');
      return { nextRevision, position };
    } catch (error) {
      throw storeFailure(
        STORE_NAME,
        error instanceof WrongExpectedVersionError
          ? toAppendRefusal(streamId, events[0].id, expected, error.actualVersion)
          : error,
      );
    }
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    checkStreamId(streamId);
    const { from, maxCount } = readStreamWindow(options);
    try {
      return await this.read(streamId, { fromRevision: BigInt(from), maxCount });
    } catch (error) {
      throw storeFailure(STORE_NAME, error);
    }
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    const { from, maxCount = Number.POSITIVE_INFINITY } = readAllWindow(options);
    const start = from === 0 ? undefined : toLogPosition(from);
    try {
      try {
        return await this.readAllFrom(start, maxCount);
      } catch (error) {
        // `after` need not be an event's position (one less than it, say): start at the last event before it.
        if (start === undefined || !isInvalidPosition(error)) throw error;
        return await this.readAllFrom(await this.lastPositionAtOrBefore(from), maxCount);
      }
    } catch (error) {
      throw storeFailure(STORE_NAME, error);
    }
  }

  /**
   * A catch-up subscription of the server, which starts strictly after `after` (a position this
   * store returned). The async iterator pulls the next event only when the handler is done, so
   * events reach it one at a time, in order.
   */
  subscribe({ after, onEvent, onError }: SubscribeOptions): Subscription {
    const { from } = readAllWindow({ after });
    const source = this.client.subscribeToAll({ fromPosition: readAllStart(from), filter: excludeSystemEvents() });
    let closed = false;
    let inHandler = false;

    const stop = async (): Promise<void> => {
      closed = true;
      this.subscriptions.delete(subscription);
      // Once closed nothing reaches the caller, late stream errors included.
      source.on('error', () => undefined);
      // A subscription whose connection never opened has nothing to cancel.
      await source.unsubscribe().catch(() => undefined);
      source.destroy();
    };
    const fail = (error: Error): void => {
      if (closed) return;
      void stop();
      if (onError) onError(error);
      // Without a handler a stopped subscription must not pass silently: surface it as unhandled.
      else void Promise.reject(error);
    };

    const delivered = (async () => {
      try {
        for await (const resolved of source) {
          if (closed) return;
          if (resolved.event === undefined || !isPortEvent(resolved.event)) continue;
          const event = toRecordedEvent(resolved);
          // The server starts after `from` already; checked here so the port's promise does not rest on it.
          if (event.position <= from) continue;
          inHandler = true;
          try {
            await onEvent(event);
          } catch (error) {
            return fail(asError(error));
          } finally {
            inHandler = false;
          }
        }
        fail(storeFailure(STORE_NAME, new Error('the server ended the subscription')));
      } catch (error) {
        fail(storeFailure(STORE_NAME, error));
      }
    })();

    const subscription: Subscription = {
      close: async () => {
        if (!closed) await stop();
        // A handler may close its own subscription; waiting for the loop there would wait for itself.
        if (!inHandler) await delivered;
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(): Promise<void> {
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.client.dispose();
  }

  private async read(streamId: string, options: ClientReadStreamOptions): Promise<RecordedEvent[]> {
    try {
      return (await collect(this.client.readStream(streamId, options))).map(toRecordedEvent);
    } catch (error) {
      if (isStreamNotFound(error)) return [];
      throw error;
    }
  }

  /** Our events after `seen` (or from the start), paging through $all, which repeats the event at a page's start. */
  private async readAllFrom(seen: Position | undefined, maxCount: number): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    while (events.length < maxCount) {
      // One more than needed, as the first event of a page may be the one already seen; so a full
      // page always holds a new event.
      const requested = Math.min(PAGE_SIZE, maxCount - events.length + 1);
      const page = await collect(this.client.readAll({ fromPosition: seen ?? START, maxCount: requested }));
      for (const resolved of page) {
        const event = resolved.event;
        if (event === undefined || (seen !== undefined && comparePositions(event.position, seen) <= 0)) continue;
        seen = event.position;
        if (!isPortEvent(event)) continue;
        events.push(toRecordedEvent(resolved));
        if (events.length === maxCount) break;
      }
      if (page.length < requested) break;
    }
    return events;
  }

  async lastPosition(): Promise<number> {
    try {
      for await (const event of this.newestFirst()) if (isPortEvent(event)) return toSafeNumber(event.position.commit, 'log position');
      return 0;
    } catch (error) {
      throw storeFailure(STORE_NAME, error);
    }
  }

  /** The position of the newest event at or before `position`; undefined for none. */
  private async lastPositionAtOrBefore(position: number): Promise<Position | undefined> {
    const limit = BigInt(position);
    for await (const event of this.newestFirst()) if (event.position.commit <= limit) return event.position;
    return undefined;
  }

  /** $all's events from its end back, the server's own among them, a page per round trip. */
  private async *newestFirst(): AsyncGenerator<NonNullable<AllStreamResolvedEvent['event']>> {
    let from: Position | typeof END = END;
    for (;;) {
      const page: AllStreamResolvedEvent[] = await collect(
        this.client.readAll({ direction: BACKWARDS, fromPosition: from, maxCount: PAGE_SIZE }),
      );
      for (const { event } of page) {
        if (event === undefined) continue;
        yield event;
        // Reading backwards from an event's position leaves that event out.
        from = event.position;
      }
      if (page.length < PAGE_SIZE) return;
    }
  }
}

/** `connectionString` is an esdb:// URL, e.g. esdb://localhost:2113?tls=false; the channel opens on first use. */
export const openEventStoreDb = (connectionString: string): EventStoreDbEventStore =>
  new EventStoreDbEventStore(EventStoreDBClient.connectionString(connectionString));
