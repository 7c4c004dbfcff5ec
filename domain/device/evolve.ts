import { absurd } from 'fp-ts/function';
import { DeviceEvent } from './events';
import { DeviceState } from './state';

export const evolve = (state: DeviceState, event: DeviceEvent): DeviceState => {
  switch (event.type) {
    case 'DeviceInitialized':
      return {
        status: 'INITIALIZED',
        serial: event.data.serial,
        kind: event.data.kind,
        credentialKind: event.data.credentialKind,
        credentialFingerprint: event.data.credentialFingerprint,
        pinFailures: 0,
        consecutiveFailures: 0,
        pinLocked: false,
      };
    case 'DeviceDistributed':
      return { ...state, status: 'DISTRIBUTED', organisation: event.data.organisation };
    case 'DeviceBound':
      return { ...state, status: 'ACTIVE', userId: event.data.userId };
    case 'DeviceReportedLost':
      return { ...state, status: 'LOST' };
    case 'DeviceFrozen':
      return { ...state, status: 'FROZEN' };
    case 'DeviceLossCancelled':
    case 'DeviceRestored':
      return { ...state, status: 'ACTIVE' };
    case 'DeviceDestroyed':
      return { ...state, status: 'DESTROYED' };
    case 'DeviceAuthenticationFailed':
      return {
        ...state,
        consecutiveFailures: event.data.consecutiveFailures,
        pinFailures: state.pinFailures + (event.data.reason === 'BAD_PIN' ? 1 : 0),
      };
    case 'DevicePinLocked':
      return { ...state, pinLocked: true };
    case 'DeviceAuthenticated':
      return { ...state, pinFailures: 0, consecutiveFailures: 0 };
    case 'DevicePinUnblocked':
      return { ...state, pinLocked: false, pinFailures: 0, consecutiveFailures: 0 };
    default:
      return absurd(event);
  }
};
