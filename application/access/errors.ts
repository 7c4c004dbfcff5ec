import { CommandError } from '../errors';

/** A refused request. The message says what to send instead and never carries a token or its hash. */
export interface AccessError {
  readonly code: 'UNAUTHENTICATED' | 'FORBIDDEN';
  readonly message: string;
}

export const unauthenticated = (message: string): AccessError => ({ code: 'UNAUTHENTICATED', message });
export const forbidden = (message: string): AccessError => ({ code: 'FORBIDDEN', message });

/**
 * An "only as itself" check could not read the charge or key pool it needs (store down, damaged
 * stream). Nothing was decided or recorded; the request may be retried.
 */
export class AccessCheckUnavailableError extends Error {
  constructor(readonly error: CommandError) {
    super(`cannot check access now: ${error.message}`);
    this.name = 'AccessCheckUnavailableError';
  }
}
