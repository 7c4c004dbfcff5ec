import {
  ANY,
  AppendExpectedRevision,
  CurrentRevision,
  EventData,
  JSONType,
  jsonEvent,
  NO_STREAM,
  Position,
  ReadPosition,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
} from '@eventstore/db-client';
import {
  EventIdConflictError,
  EventMetadata,
  ExpectedRevision,
  NewEvent,
  RecordedEvent,
  revisionMatches,
  WrongExpectedRevisionError,
} from '../../application/ports/event-store';

// Pure translation between the EventStore port and the EventStoreDB client's shapes, kept apart
// from the adapter so it can be tested without a server.

export const STORE_NAME = 'EventStoreDB';

/**
 * The client counts revisions and log positions in 64-bit integers. A number is exact up to
 * 2^53 - 1: for a log position (a byte offset in the transaction log) that is 8 PiB of log, and
 * no stream holds 2^53 events, so the conversion is exact in practice; past that it refuses
 * rather than round.
 */
export const toSafeNumber = (value: bigint, what: string): number => {
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`EventStoreDB returned ${what} ${value}, outside the exact range of a number (0 to 2^53-1)`);
  }
  return Number(value);
};

export const toAppendExpectedRevision = (expected: ExpectedRevision): AppendExpectedRevision => {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return BigInt(expected);
  }
};

/** The stream's last revision as the port counts it: -1 when it does not exist. */
export const toActualRevision = (current: CurrentRevision): number =>
  current === NO_STREAM || current < 0n ? -1 : toSafeNumber(current, 'stream revision');

/**
 * The port's error for an append the server refused, given the stream's revision it reported.
 * The server answers a stale expectation and a batch that repeats stored events only in part
 * (its first events are already in the stream, the rest are not) alike. When the expectation
 * holds for the reported revision, as `any` always does, the refusal can only be the second, and
 * the first event of the batch is one the server found stored.
 */
export const toAppendRefusal = (
  streamId: string,
  firstEventId: string,
  expected: ExpectedRevision,
  current: CurrentRevision,
): WrongExpectedRevisionError | EventIdConflictError => {
  const actual = toActualRevision(current);
  return revisionMatches(expected, actual)
    ? new EventIdConflictError(streamId, firstEventId, 'the append mixes events already stored with new ones')
    : new WrongExpectedRevisionError(streamId, expected, actual);
};

/**
 * A position of ours as a log position. Appends over gRPC commit every event as a record of its
 * own, whose commit and prepare positions are both the record's offset: the commit position alone
 * names the event, and positions strictly increase in log order. (Events written by the retired
 * TCP API in explicit transactions share a commit position; this store never writes those.)
 */
export const toLogPosition = (position: number): Position => ({ commit: BigInt(position), prepare: BigInt(position) });

/** Where a read or subscription of $all begins; position 0 is the start of the log, before any event. */
export const readAllStart = (after: number): ReadPosition => (after === 0 ? START : toLogPosition(after));

export const comparePositions = (a: Position, b: Position): number =>
  a.commit !== b.commit ? (a.commit < b.commit ? -1 : 1) : a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1;

export const toEventData = (event: NewEvent): EventData =>
  jsonEvent({
    id: event.id,
    type: event.type,
    // Checked to be JSON before this point; the client serializes it with JSON.stringify.
    data: event.data as JSONType,
    metadata: event.metadata,
  });

/** The part of the client's recorded event this adapter reads (stream and $all reads alike). */
export interface ClientRecordedEvent {
  readonly streamId: string;
  readonly id: string;
  readonly revision: bigint;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly position?: Position;
}

export interface ClientResolvedEvent {
  readonly event?: ClientRecordedEvent;
  readonly commitPosition?: bigint;
}

/**
 * Whether an event of $all belongs to the port: not one of the server's own ($-prefixed types
 * such as $metadata, or $-prefixed streams such as $stats-...).
 */
export const isPortEvent = (event: { readonly streamId: string; readonly type: string }): boolean =>
  !event.streamId.startsWith('$') && !event.type.startsWith('$');

// Servers before 22.6 leave the position of a stream read unset, which the wire shows as 2^64 - 1.
const NO_POSITION = 2n ** 64n - 1n;

export const positionOf = (resolved: ClientResolvedEvent): Position | undefined => {
  const position = resolved.event?.position;
  if (position !== undefined && position.commit < NO_POSITION) return position;
  const commit = resolved.commitPosition;
  return commit !== undefined && commit < NO_POSITION ? { commit, prepare: commit } : undefined;
};

const isMetadata = (value: unknown): value is EventMetadata =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

export const toRecordedEvent = (resolved: ClientResolvedEvent): RecordedEvent => {
  const event = resolved.event;
  if (event === undefined) {
    throw new Error('EventStoreDB returned a link without its event; read without resolving links');
  }
  const where = `event ${event.id} (stream ${event.streamId}, revision ${event.revision})`;
  const position = positionOf(resolved);
  if (position === undefined) {
    throw new Error(`EventStoreDB returned ${where} without its log position; use EventStoreDB 22.6 or later, or KurrentDB`);
  }
  if (!isMetadata(event.metadata)) {
    throw new Error(`${where} has no JSON metadata object, so it was not written through this store; keep the platform's streams to its own events`);
  }
  return {
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    streamId: event.streamId,
    revision: toSafeNumber(event.revision, 'stream revision'),
    position: toSafeNumber(position.commit, 'log position'),
  };
};

export const isStreamNotFound = (error: unknown): boolean => error instanceof StreamNotFoundError;

/**
 * The server reads $all only from record boundaries, and refuses any other position with gRPC
 * status 3 (INVALID_ARGUMENT) "Trying to read from an invalid position".
 */
export const isInvalidPosition = (error: unknown): boolean =>
  error instanceof Error && ((error as { code?: unknown }).code === 3 || /invalid position/i.test(error.message));
