// Domain errors are data, not exceptions: decide() returns them in an Either, and every layer above
// passes them on unchanged, so a console always sees the same code and advice.

export type DomainErrorCode =
  | 'INVALID_INPUT' // a command or event failed its codec; issues name each field and rule
  | 'NOT_FOUND' // the aggregate a command addresses does not exist
  | 'ALREADY_EXISTS' // a creating command addressed an aggregate that exists
  | 'INVALID_STATE' // the aggregate's state forbids the command
  | 'INSUFFICIENT_KEY' // the key pool holds fewer bytes than asked for
  | 'UNKNOWN_EVENT_TYPE' // a stored event whose type this build does not know
  | 'MALFORMED_EVENT'; // a stored event whose data fails its codec

export interface ValidationIssue {
  readonly field: string;
  readonly rule: string;
}

export interface DomainError {
  readonly code: DomainErrorCode;
  /** What went wrong and what to do next, fit to show a console user. Never carries secrets. */
  readonly message: string;
  readonly issues?: readonly ValidationIssue[];
  readonly details?: Readonly<Record<string, string | number | boolean | null>>;
}

export const invalidInput = (issues: readonly ValidationIssue[]): DomainError => ({
  code: 'INVALID_INPUT',
  message: issues.map((i) => `${i.field}: ${i.rule}`).join('; '),
  issues,
});

export const notFound = (entity: string, id: string, hint: string): DomainError => ({
  code: 'NOT_FOUND',
  message: `${entity} ${id} does not exist; ${hint}`,
  details: { entity, id },
});

export const alreadyExists = (entity: string, id: string): DomainError => ({
  code: 'ALREADY_EXISTS',
  message: `${entity} ${id} already exists; choose another id`,
  details: { entity, id },
});

export const invalidState = (
  entity: string,
  id: string,
  state: string,
  action: string,
  hint: string,
): DomainError => ({
  code: 'INVALID_STATE',
  message: `cannot ${action} ${entity} ${id} while it is ${state}; ${hint}`,
  details: { entity, id, state, action },
});
