import { ChargeEvent } from './events';
import { ChargeState } from './state';

// decide emits each event only from the states checked here; from any other state an event changes nothing.
export const evolve = (state: ChargeState, event: ChargeEvent): ChargeState => {
  switch (event.type) {
    case 'ChargeStarted':
      return { ...event.data, status: 'STARTED', delivered: 0, ranges: [] };
    case 'ChargeDeviceVerified':
      return state.status === 'STARTED' ? { ...state, status: 'DEVICE_VERIFIED', method: event.data.method } : state;
    case 'ChargeKeysDelivered': {
      if (state.status !== 'DEVICE_VERIFIED' && state.status !== 'KEYS_DELIVERED') return state;
      const { sourceId, rangeId, length } = event.data;
      return {
        ...state,
        status: 'KEYS_DELIVERED',
        delivered: state.delivered + length,
        ranges: [...state.ranges, { sourceId, rangeId }],
      };
    }
    case 'ChargeCompleted':
      return state.status === 'KEYS_DELIVERED' ? { ...state, status: 'COMPLETED' } : state;
    case 'ChargeFailed': {
      const { chargeId, deviceSerial, chargerId, reason } = event.data;
      return { ...state, status: 'FAILED', chargeId, deviceSerial, chargerId, reason };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`evolve does not handle charge event ${JSON.stringify(unhandled)}`);
    }
  }
};
