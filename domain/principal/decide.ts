import * as E from 'fp-ts/Either';
import { absurd, pipe } from 'fp-ts/function';
import { alreadyExists, DomainError, invalidInput, invalidState, notFound } from '../shared/errors';
import { PrincipalCommand } from './commands';
import { PrincipalEvent } from './events';
import { PrincipalState } from './state';

type Decision = E.Either<DomainError, readonly PrincipalEvent[]>;

const ENTITY = 'principal';

/** The principal while it exists and is not revoked, or the refusal that says what to do instead. */
const active = (
  state: PrincipalState,
  principalId: string,
  action: string,
  revokedHint: string,
): E.Either<DomainError, PrincipalState> => {
  switch (state.status) {
    case 'NONE':
      return E.left(notFound(ENTITY, principalId, 'create it first'));
    case 'REVOKED':
      return E.left(invalidState(ENTITY, principalId, 'REVOKED', action, revokedHint));
    case 'ACTIVE':
      return E.right(state);
    default:
      return absurd(state.status);
  }
};

export const decide = (command: PrincipalCommand, state: PrincipalState): Decision => {
  const { principalId } = command.data;
  switch (command.type) {
    case 'CreatePrincipal':
      // Ids are never reused, not even after a revocation, so the audit never confuses two holders.
      if (state.status !== 'NONE') return E.left(alreadyExists(ENTITY, principalId));
      return E.right([{ type: 'PrincipalCreated', data: command.data }]);
    case 'RotatePrincipalToken':
      return pipe(
        active(state, principalId, 'rotate the token of', 'a revoked principal stays revoked; create a new principal'),
        E.chain((current): Decision => {
          if (current.tokenHash === command.data.tokenHash) {
            const rule = 'must differ from the current token hash; generate a new token';
            return E.left(invalidInput([{ field: 'data.tokenHash', rule }]));
          }
          return E.right([{ type: 'PrincipalTokenRotated', data: command.data }]);
        }),
      );
    case 'RevokePrincipal':
      return pipe(
        active(state, principalId, 'revoke', 'it is revoked already; nothing to do'),
        E.map((): readonly PrincipalEvent[] => [{ type: 'PrincipalRevoked', data: command.data }]),
      );
    default:
      return absurd(command);
  }
};
