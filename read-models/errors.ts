import { invalidInput, ValidationIssue } from '../domain/shared/errors';

/** A query the read models cannot answer as asked; the message names each field and its rule. */
export class InvalidQueryError extends Error {
  readonly code = 'INVALID_INPUT';
  readonly issues: readonly ValidationIssue[];
  constructor(issues: readonly ValidationIssue[]) {
    const error = invalidInput(issues);
    super(error.message);
    this.name = 'InvalidQueryError';
    this.issues = error.issues ?? [];
  }
}

export const invalidQuery = (field: string, rule: string): InvalidQueryError => new InvalidQueryError([{ field, rule }]);
