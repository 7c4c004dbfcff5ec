// The one port every event storage implements. Adapters store raw events; the application decodes
// them with the domain's codecs, so a store never needs to know the event catalogue.

export interface EventMetadata {
  readonly actorId: string;
  readonly actorRole: string;
  readonly commandId: string;
  /** The command type that caused the event, so a reused command id is told from a repeated one. */
  readonly commandType: string;
  readonly correlationId: string;
  readonly causationId: string;
  /** ISO-8601 time from the injected clock. */
  readonly occurredAt: string;
}

export interface NewEvent {
  /** UUID; appending the same ids again at the same place is a no-op (idempotent re-append). */
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: EventMetadata;
}

export interface RecordedEvent extends NewEvent {
  readonly streamId: string;
  /** 0-based index of the event in its stream. */
  readonly revision: number;
  /** Global position: strictly increasing in the order readAll and subscribe deliver events. */
  readonly position: number;
}

/** `no_stream`: the stream must not exist; `stream_exists`: it must; a number: its last revision must be exactly that. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | number;

export interface AppendResult {
  /** Revision of the last event now in the stream. */
  readonly nextRevision: number;
  /** Global position of the last event appended (or found, for an idempotent re-append). */
  readonly position: number;
  /**
   * The events' ids were already stored, so nothing was written: what is stored under them may not
   * be what this append carried (another process sent the same command id at the same moment).
   * EventStoreDB answers such an append as a success without saying so.
   */
  readonly replayed?: true;
}

export interface ReadStreamOptions {
  /** First revision to return (inclusive); default 0. */
  readonly fromRevision?: number;
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Return events strictly after this position; default: from the start. */
  readonly after?: number;
  readonly maxCount?: number;
}

export interface Subscription {
  close(): Promise<void>;
}

export interface SubscribeOptions {
  /** Deliver events strictly after this position (catch-up, then live); default: from the start. */
  readonly after?: number;
  /** Called for each event in global order, one at a time; the next waits for the returned promise. */
  readonly onEvent: (event: RecordedEvent) => Promise<void> | void;
  /** Called once if the subscription stops on an error; it delivers nothing after that. */
  readonly onError?: (error: Error) => void;
}

/** A verified event and its chain value (hex); keep it to verify from there later, and to notice a cut log. */
export interface ChainHead {
  readonly position: number;
  readonly chain: string;
}

export interface VerifyChainOptions {
  /** Events read per page; memory use is bounded by one page. Default 1000. */
  readonly pageSize?: number;
  /**
   * The head of an earlier report: check that this event is still there with the same chain value,
   * then verify only what follows it. Without it, verification starts at position 1.
   */
  readonly since?: ChainHead;
}

/**
 * What a verification found first: `edited` (an event does not match its chain value: it was
 * changed, inserted, moved, or sealed with another key), `missing` (a position is absent: events
 * were deleted), `unsealed` (an event has no chain value: written without the chain key), or
 * `truncated` (the log ends before the `since` head: its end was deleted).
 */
export type ChainProblem = 'edited' | 'missing' | 'unsealed' | 'truncated';

export interface ChainReport {
  readonly ok: boolean;
  /** Events whose chain value was recomputed and matched. */
  readonly checked: number;
  readonly firstBadPosition: number | null;
  readonly problem: ChainProblem | null;
  /** What was found at firstBadPosition and what to do next, for people; null when ok. */
  readonly reason: string | null;
  /** The last event that verified (the `since` head when nothing follows it); null when none did. */
  readonly head: ChainHead | null;
}

/** What verifying the audit answers: the chain's report, and the earlier head found still in place. */
export type AuditVerification = Pick<ChainReport, 'ok' | 'checked' | 'firstBadPosition' | 'reason' | 'head'> & {
  /** The position of the head the last good verification saw, checked to be still in place; null when none was recorded. */
  readonly since: number | null;
};

export interface EventStore {
  /** Appends all events atomically, or none. Rejects with WrongExpectedRevisionError on a revision mismatch. */
  append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult>;
  /** The stream's events in revision order; an empty array when the stream does not exist. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** The position of the log's newest event; 0 while the log is empty. */
  lastPosition(): Promise<number>;
  subscribe(options: SubscribeOptions): Subscription;
  /**
   * Recomputes the keyed hash chain over the log, a page at a time, and reports the first event
   * that does not match. Stores whose events can be edited in place have it (EventStoreDB's cannot);
   * it rejects when the store was opened without the chain key.
   */
  verifyChain?(options?: VerifyChainOptions): Promise<ChainReport>;
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  readonly code = 'WRONG_EXPECTED_REVISION';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** The stream's last revision, or -1 when it does not exist. */
    readonly actual: number,
  ) {
    super(
      `stream ${streamId} is at revision ${actual < 0 ? '(none)' : actual}, not ${String(expected)}: ` +
        'another writer got there first; reload the stream and decide again',
    );
    this.name = 'WrongExpectedRevisionError';
  }
}

/** An event id is already stored, and not as a retry of the same append. */
export class EventIdConflictError extends Error {
  readonly code = 'EVENT_ID_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly eventId: string,
    reason: string,
    /** Where the event that holds the id sits, where the store knows it. */
    readonly usedAt?: { readonly streamId: string; readonly revision: number },
  ) {
    super(
      `cannot append event ${eventId} to stream ${streamId}: ${reason}; ` +
        'give new events new ids, and resend a retried append whole and unchanged',
    );
    this.name = 'EventIdConflictError';
  }
}

/** The store cannot be reached or failed; nothing was written. The cause is kept for logs, not shown to users. */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(readonly store: string, cause: unknown) {
    super(`the ${store} event store is unavailable; check that it is running and reachable, then retry`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** Checks an expected revision against the stream's last revision (-1 when absent). */
export const revisionMatches = (expected: ExpectedRevision, actual: number): boolean =>
  expected === 'any' ||
  (expected === 'no_stream' && actual === -1) ||
  (expected === 'stream_exists' && actual >= 0) ||
  expected === actual;
