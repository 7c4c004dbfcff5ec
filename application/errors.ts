import { DomainError, ValidationIssue } from '../domain/shared/errors';

/** Errors the application adds to the domain's: they come from concurrency and storage, not from rules. */
export interface ApplicationError {
  readonly code: 'CONFLICT' | 'STORE_UNAVAILABLE' | 'IDEMPOTENCY_KEY_REUSED';
  readonly message: string;
  readonly issues?: readonly ValidationIssue[];
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
  /** With CONFLICT: the aggregate's state now, so the console can show what changed. */
  readonly currentState?: unknown;
}

export type CommandError = DomainError | ApplicationError;

export const conflict = (streamId: string, attempts: number, revision: number, currentState: unknown): ApplicationError => ({
  code: 'CONFLICT',
  message:
    `${streamId} kept changing while this command was decided (${attempts} attempts, now at revision ${revision}): ` +
    'another console is acting on it; reload its current state and decide whether to send the command again',
  details: { streamId, attempts, revision },
  currentState,
});

export const staleRevision = (streamId: string, expected: number, actual: number, currentState: unknown): ApplicationError => ({
  code: 'CONFLICT',
  message:
    `${streamId} is at revision ${actual < 0 ? '(none)' : actual}, not ${expected} as this console saw it: ` +
    'someone else changed it meanwhile; review its current state, then send the command again if it still applies',
  details: { streamId, expectedRevision: expected, revision: actual },
  currentState,
});

/** Decided again after another writer moved the stream, a command that applied before no longer does. */
export const overtaken = (streamId: string, revision: number, refusal: CommandError, currentState: unknown): ApplicationError => ({
  code: 'CONFLICT',
  message:
    `${streamId} changed while this command was decided (another console acted on it; now at revision ${revision}), ` +
    `and the command no longer applies: ${refusal.message}`,
  details: { streamId, revision, refusal: refusal.code },
  currentState,
});

export const storeUnavailable = (message: string): ApplicationError => ({ code: 'STORE_UNAVAILABLE', message });

/** `usedBy` and `type` name a command and, where it tells them apart, its stream: `BindDevice on device-X`. */
export const idempotencyKeyReused = (commandId: string, usedBy: string, type: string): ApplicationError => ({
  code: 'IDEMPOTENCY_KEY_REUSED',
  message: `command id ${commandId} was already used for ${usedBy}, so it cannot also name ${type}; send each new command with a new id`,
  details: { commandId, usedBy, type },
});
