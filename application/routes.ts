import * as E from 'fp-ts/Either';
import { chargeAggregate, ChargeCommand, ChargeDecisionState, ChargeEvent, ChargeState, deliveredRangeStatus } from '../domain/charge';
import { chargerAggregate } from '../domain/charger';
import { initialChargerState } from '../domain/charger/state';
import { deviceAggregate, initialDeviceState } from '../domain/device';
import { keyPoolAggregate } from '../domain/keypool';
import { principalAggregate } from '../domain/principal';
import { saeKeysAggregate } from '../domain/saekeys';
import { Load, Route } from './command-bus';
import { CommandError } from './errors';

/**
 * A charge decides on the device and charger it names (the ones in its command when it starts, the
 * ones it recorded afterwards) and on where the ranges it delivered are now in its key pool. Only
 * the charge stream is appended to; the others are read.
 */
const chargeDecisionState = async (
  charge: ChargeState,
  command: ChargeCommand,
  load: Load,
): Promise<E.Either<CommandError, ChargeDecisionState>> => {
  const names =
    command.type === 'StartCharge' ? command.data : charge.status === 'NONE' ? undefined : charge;
  if (names === undefined) return E.right({ charge, device: initialDeviceState, charger: initialChargerState, rangeStatus: new Map() });
  const poolId = charge.status !== 'NONE' && (charge.ranges ?? []).length > 0 ? charge.sourceId : undefined;
  const [device, charger, pool] = await Promise.all([
    load(deviceAggregate, names.deviceSerial),
    load(chargerAggregate, names.chargerId),
    poolId === undefined ? E.right(undefined) : load(keyPoolAggregate, poolId),
  ]);
  if (E.isLeft(device)) return device;
  if (E.isLeft(charger)) return charger;
  if (E.isLeft(pool)) return pool;
  const rangeStatus = pool.right === undefined ? new Map() : deliveredRangeStatus(charge, pool.right.state);
  return E.right({ charge, device: device.right.state, charger: charger.right.state, rangeStatus });
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
