import { Aggregate } from '../shared/aggregate';
import { ChargeCommand, chargeCommandCodecs } from './commands';
import { decide } from './decide';
import { ChargeEvent, chargeEventCodecs } from './events';
import { evolve } from './evolve';
import { ChargeDecisionState, ChargeState, initialChargeState } from './state';

export const chargeAggregate: Aggregate<ChargeState, ChargeCommand, ChargeEvent, ChargeDecisionState> = {
  name: 'charge',
  streamPrefix: 'charge',
  initialState: initialChargeState,
  commandCodecs: chargeCommandCodecs,
  eventCodecs: chargeEventCodecs,
  targetOf: (command) => command.data.chargeId,
  decide,
  evolve,
};

export { chargeCommandCodecs, chargeEventCodecs, initialChargeState };
export { chargeFailureCodes } from './events';
export { MAX_CHARGE_BYTES, MAX_DELIVERY_BYTES } from './commands';
export { deliveredRangeStatus } from './state';
export type { ChargeCommand, ChargeEvent, ChargeDecisionState, ChargeState };
export type { VerificationMethod } from './commands';
export type { ChargeFailureCode, RangeToDestroy } from './events';
export type { ChargeFacts, ChargeStatus, OpenCharge } from './state';
