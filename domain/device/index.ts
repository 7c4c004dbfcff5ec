import { Aggregate } from '../shared/aggregate';
import { DeviceCommand, deviceCommandCodecs } from './commands';
import { decide } from './decide';
import { DeviceEvent, deviceEventCodecs } from './events';
import { evolve } from './evolve';
import { DeviceState, initialDeviceState } from './state';

export const deviceAggregate: Aggregate<DeviceState, DeviceCommand, DeviceEvent> = {
  name: 'device',
  streamPrefix: 'device',
  initialState: initialDeviceState,
  commandCodecs: deviceCommandCodecs,
  eventCodecs: deviceEventCodecs,
  targetOf: (command) => command.data.serial,
  decide,
  evolve,
};

export { MAX_PIN_ATTEMPTS } from './decide';
export { AuthenticationFailureReason, CredentialKind } from './fields';
export type { DeviceCommand } from './commands';
export type { DeviceEvent } from './events';
export type { DeviceState, DeviceStatus } from './state';
export { initialDeviceState } from './state';
