import * as E from 'fp-ts/Either';
import { chargeAggregate, ChargeCommand, ChargeDecisionState, ChargeEvent, ChargeState } from '../domain/charge';
import { chargerAggregate } from '../domain/charger';
import { initialChargerState } from '../domain/charger/state';
import { deviceAggregate, initialDeviceState } from '../domain/device';
import { keyPoolAggregate } from '../domain/keypool';
import { principalAggregate } from '../domain/principal';
import { saeKeysAggregate } from '../domain/saekeys';
import { Load, Route } from './command-bus';
import { CommandError } from './errors';

/**
 * A charge decides on the device and charger it names: the ones in its command when it starts,
 * the ones it recorded afterwards. Only the charge stream is appended to; the others are read.
 */
const chargeDecisionState = async (
  charge: ChargeState,
  command: ChargeCommand,
  load: Load,
): Promise<E.Either<CommandError, ChargeDecisionState>> => {
  const names =
    command.type === 'StartCharge' ? command.data : charge.status === 'NONE' ? undefined : charge;
  if (names === undefined) return E.right({ charge, device: initialDeviceState, charger: initialChargerState });
  const [device, charger] = await Promise.all([
    load(deviceAggregate, names.deviceSerial),
    load(chargerAggregate, names.chargerId),
  ]);
  if (E.isLeft(device)) return device;
  if (E.isLeft(charger)) return charger;
  return E.right({ charge, device: device.right.state, charger: charger.right.state });
};

/** Every aggregate the command bus serves. */
export const commandRoutes = [
  { aggregate: deviceAggregate },
  { aggregate: chargerAggregate },
  { aggregate: keyPoolAggregate },
  { aggregate: principalAggregate },
  { aggregate: saeKeysAggregate },
  { aggregate: chargeAggregate, decisionState: chargeDecisionState } satisfies Route<ChargeState, ChargeCommand, ChargeEvent, ChargeDecisionState>,
] as const;
