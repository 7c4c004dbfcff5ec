import * as E from 'fp-ts/Either';
import { ChargerState } from '../charger/state';
import { DeviceState } from '../device/state';
import { RangeStatus } from '../keypool/state';
import { alreadyExists, DomainError, invalidInput, invalidState, notFound } from '../shared/errors';
import { ChargeCommand } from './commands';
import { ChargeEvent, ChargeFailureCode, RangeToDestroy } from './events';
import { ChargeDecisionState, ChargeFacts, OpenCharge } from './state';

type Decision = E.Either<DomainError, readonly ChargeEvent[]>;

/** Only an ACTIVE, unlocked device can be charged, and only by an attested charger: at every step. */
const distrust = (device: DeviceState, charger: ChargerState): ChargeFailureCode | undefined => {
  if (charger.status !== 'ATTESTED') return 'CHARGER_NOT_ATTESTED';
  if (device.status !== 'ACTIVE') return 'DEVICE_NOT_ACTIVE';
  if (device.pinLocked) return 'DEVICE_PIN_LOCKED';
  return undefined;
};

/** The states in which a delivered range is still its device's key, or on its way to it. */
const HELD: readonly (RangeStatus | undefined)[] = ['RESERVED', 'ISSUED', 'FROZEN', 'CONSUMED'];

/** Why the charge cannot go on: distrust, or key it delivered that was destroyed since (never charged). */
const failureOf = ({ device, charger, rangeStatus }: ChargeDecisionState, charge: OpenCharge): ChargeFailureCode | undefined =>
  distrust(device, charger) ??
  (charge.ranges.some(({ rangeId }) => !HELD.includes(rangeStatus.get(rangeId))) ? 'DELIVERED_KEY_DESTROYED' : undefined);

const failed = (
  { chargeId, deviceSerial, chargerId }: Pick<ChargeFacts, 'chargeId' | 'deviceSerial' | 'chargerId'>,
  reason: string,
  rangesToDestroy: readonly RangeToDestroy[],
): ChargeEvent => ({ type: 'ChargeFailed', data: { chargeId, deviceSerial, chargerId, reason, rangesToDestroy } });

/** The event while the charge can go on (failureOf); else it fails, destroying what left the platform. */
const ifSound = (
  decision: ChargeDecisionState,
  charge: OpenCharge,
  event: ChargeEvent,
  leftPlatform: readonly RangeToDestroy[] = charge.ranges,
): Decision => {
  const reason = failureOf(decision, charge);
  return E.right([reason === undefined ? event : failed(charge, reason, leftPlatform)]);
};

const actionOf: Record<Exclude<ChargeCommand['type'], 'StartCharge'>, string> = {
  RecordChargeDeviceVerification: 'record the device verification of',
  DeliverChargeKeys: 'deliver keys to',
  CompleteCharge: 'complete',
  FailCharge: 'fail',
};

// Order of checks after the start: the charge's state, then the command's own rules (a refused
// command changes nothing), then trust in device and charger and the key delivered so far (a
// failure is an event the audit shows).
export const decide = (command: ChargeCommand, decision: ChargeDecisionState): Decision => {
  const { charge, device, charger } = decision;
  if (command.type === 'StartCharge') {
    const { chargeId, deviceSerial, chargerId } = command.data;
    if (charge.status !== 'NONE') return E.left(alreadyExists('charge', chargeId));
    if (device.status === 'NONE') {
      return E.left(notFound('device', deviceSerial, 'initialize, distribute and bind it first'));
    }
    if (charger.status === 'NONE') return E.left(notFound('charger', chargerId, 'register and attest it first'));
    // A refused start is an event, not an error: the audit must show the attempt.
    const reason = distrust(device, charger);
    const outcome: ChargeEvent =
      reason === undefined ? { type: 'ChargeStarted', data: command.data } : failed(command.data, reason, []);
    return E.right([outcome]);
  }

  const { chargeId } = command.data;
  const refuse = (hint: string, action = actionOf[command.type]) =>
    E.left(invalidState('charge', chargeId, charge.status, action, hint));
  if (charge.status === 'NONE') return E.left(notFound('charge', chargeId, 'start it first'));
  if (charge.status === 'COMPLETED' || charge.status === 'FAILED') {
    return refuse('a finished charge is final; start a new charge');
  }

  switch (command.type) {
    case 'RecordChargeDeviceVerification': {
      if (charge.status !== 'STARTED') return refuse('the device is verified once per charge');
      const { verified, method } = command.data;
      const outcome: ChargeEvent = verified
        ? { type: 'ChargeDeviceVerified', data: { chargeId, deviceSerial: charge.deviceSerial, method } }
        : failed(charge, 'DEVICE_PROOF_REJECTED', []);
      return ifSound(decision, charge, outcome);
    }
    case 'DeliverChargeKeys': {
      if (charge.status === 'STARTED') return refuse('verify the device first');
      const { sourceId, rangeId, length } = command.data;
      if (sourceId !== charge.sourceId) {
        const rule = `must be ${charge.sourceId}, the key pool this charge draws from`;
        return E.left(invalidInput([{ field: 'data.sourceId', rule }]));
      }
      if (charge.ranges.some((range) => range.rangeId === rangeId)) {
        const hint = 'a range is delivered once; reserve a new range for the remaining bytes';
        return refuse(hint, `deliver key range ${rangeId} again to`);
      }
      const remaining = charge.bytes - charge.delivered;
      if (length > remaining) {
        const rule =
          `must be at most ${remaining}: ` +
          `the charge asked for ${charge.bytes} bytes and ${charge.delivered} are delivered`;
        return E.left(invalidInput([{ field: 'data.length', rule }]));
      }
      // This range may already be on its way to the charger, so a failure now destroys it too.
      const leftPlatform = [...charge.ranges, { sourceId, rangeId }];
      return ifSound(decision, charge, { type: 'ChargeKeysDelivered', data: command.data }, leftPlatform);
    }
    case 'CompleteCharge': {
      if (charge.status !== 'KEYS_DELIVERED') return refuse('deliver keys first');
      const { deviceSerial, chargerId, bytes, delivered } = charge;
      if (delivered < bytes) {
        const missing = bytes - delivered;
        return refuse(`${delivered} of ${bytes} bytes are delivered; deliver the remaining ${missing} bytes first`);
      }
      // The kiosk has its keys only once chargeKeys answered, and by then the range is issued.
      const underway = charge.ranges.find(({ rangeId }) => decision.rangeStatus.get(rangeId) === 'RESERVED');
      if (underway !== undefined && failureOf(decision, charge) === undefined) {
        return refuse(
          `key range ${underway.rangeId} is still being delivered; complete the charge once chargeKeys has answered, ` +
            'or fail it if chargeKeys gave no keys',
        );
      }
      const { deviceAcknowledgement } = command.data;
      return ifSound(decision, charge, {
        type: 'ChargeCompleted',
        data: { chargeId, deviceSerial, chargerId, bytes, deviceAcknowledgement },
      });
    }
    case 'FailCharge':
      return E.right([failed(charge, command.data.reason, charge.ranges)]);
    default: {
      const unhandled: never = command;
      throw new Error(`decide does not handle charge command ${JSON.stringify(unhandled)}`);
    }
  }
};
