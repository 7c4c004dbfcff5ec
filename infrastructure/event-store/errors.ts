import { EventIdConflictError, StoreUnavailableError, WrongExpectedRevisionError } from '../../application/ports/event-store';

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
