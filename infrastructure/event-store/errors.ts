import { StoreUnavailableError, WrongExpectedRevisionError } from '../../application/ports/event-store';

/** An event id is already stored, and not as a retry of the same append. */
export class EventIdConflictError extends Error {
  readonly code = 'EVENT_ID_CONFLICT';
  constructor(
    readonly streamId: string,
    readonly eventId: string,
    reason: string,
  ) {
    super(
      `cannot append event ${eventId} to stream ${streamId}: ${reason}; ` +
        'give new events new ids, and resend a retried append whole and unchanged',
    );
    this.name = 'EventIdConflictError';
  }
}

/**
 * What a caller sees when a store operation throws: the store's own decisions pass unchanged,
 * anything else (driver, network, disk) becomes StoreUnavailableError with the cause kept for logs.
 */
export const storeFailure = (store: string, error: unknown): Error =>
  error instanceof WrongExpectedRevisionError ||
  error instanceof EventIdConflictError ||
  error instanceof StoreUnavailableError
    ? error
    : new StoreUnavailableError(store, error);
