import * as E from 'fp-ts/Either';
import type { AccessError } from '../../application/access/access-control';
import { AccessCheckUnavailableError } from '../../application/access/errors';
import { ApiContext } from '../context';
import { clientError, commandFailure, fromStore } from '../errors';

/**
 * Goes on only when AccessControl allows; its refusal (already audited by it) becomes the client's
 * error, and counts against the principal's rate limit. A check that cannot read what it needs says
 * so, as the command bus would.
 */
export const allowed = async (decision: Promise<E.Either<AccessError, void>>, context: Pick<ApiContext, 'refused'>): Promise<void> => {
  let outcome: E.Either<AccessError, void>;
  try {
    outcome = await fromStore(() => decision);
  } catch (error) {
    if (error instanceof AccessCheckUnavailableError) throw commandFailure(error.error);
    throw error;
  }
  if (E.isLeft(outcome)) {
    context.refused?.();
    throw clientError(outcome.left.code, outcome.left.message);
  }
};
