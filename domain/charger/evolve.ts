import { absurd } from 'fp-ts/function';
import { ChargerEvent } from './events';
import { ChargerState } from './state';

export const evolve = (state: ChargerState, event: ChargerEvent): ChargerState => {
  switch (event.type) {
    case 'ChargerRegistered':
      return {
        status: 'REGISTERED',
        chargerId: event.data.chargerId,
        location: event.data.location,
        golden: event.data.golden,
      };
    case 'ChargerAttested':
      return { ...state, status: 'ATTESTED' };
    case 'ChargerAttestationFailed':
      return { ...state, status: 'ATTESTATION_FAILED' };
    case 'ChargerRevoked':
      return { ...state, status: 'REVOKED' };
    default:
      return absurd(event);
  }
};
