import { absurd } from 'fp-ts/function';
import { PrincipalEvent } from './events';
import { PrincipalState } from './state';

export const evolve = (state: PrincipalState, event: PrincipalEvent): PrincipalState => {
  switch (event.type) {
    case 'PrincipalCreated':
      return { status: 'ACTIVE', ...event.data };
    case 'PrincipalTokenRotated':
      return { ...state, tokenHash: event.data.tokenHash };
    case 'PrincipalRevoked':
      return { ...state, status: 'REVOKED' };
    default:
      return absurd(event);
  }
};
