import * as E from 'fp-ts/Either';
import { absurd } from 'fp-ts/function';
import { alreadyExists, DomainError, invalidState, notFound } from '../shared/errors';
import { ChargerCommand } from './commands';
import { ChargerEvent } from './events';
import { mismatchedStages } from './measurements';
import { ChargerState } from './state';

const ENTITY = 'charger';

export const decide = (
  command: ChargerCommand,
  state: ChargerState,
): E.Either<DomainError, readonly ChargerEvent[]> => {
  const { chargerId } = command.data;
  switch (command.type) {
    case 'RegisterCharger': {
      if (state.status !== 'NONE') return E.left(alreadyExists(ENTITY, chargerId));
      const { location } = command.data;
      const { bootModule, operatingSystem, application } = command.data.golden;
      const golden = { bootModule, operatingSystem, application };
      return E.right([{ type: 'ChargerRegistered', data: { chargerId, location, golden } }]);
    }
    case 'AttestCharger': {
      if (state.status === 'NONE') {
        return E.left(notFound(ENTITY, chargerId, 'register it with its golden values first'));
      }
      if (state.status === 'REVOKED') {
        const hint = 'a revoked charger stays revoked; register the kiosk again under a new charger id';
        return E.left(invalidState(ENTITY, chargerId, 'REVOKED', 'attest', hint));
      }
      // A mismatch is a decision, not a refusal: the failed attestation must reach the audit.
      const mismatched = mismatchedStages(state.golden, command.data.measurements);
      return E.right([
        mismatched.length === 0
          ? { type: 'ChargerAttested', data: { chargerId } }
          : { type: 'ChargerAttestationFailed', data: { chargerId, mismatched } },
      ]);
    }
    case 'RevokeCharger':
      if (state.status === 'NONE') return E.left(notFound(ENTITY, chargerId, 'check the charger id'));
      if (state.status === 'REVOKED') {
        return E.left(invalidState(ENTITY, chargerId, 'REVOKED', 'revoke', 'it is revoked already; nothing to do'));
      }
      return E.right([{ type: 'ChargerRevoked', data: { chargerId, reason: command.data.reason } }]);
    default:
      return absurd(command);
  }
};

