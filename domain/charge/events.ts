import * as t from 'io-ts';
import { message, rule } from '../shared/codec';
import { Identifier, NonNegativeInt, PositiveInt, Serial, Sha256Hex, Text } from '../shared/types';
import { VerificationMethod } from './commands';

/** Why the platform itself ended a charge: security refusals the audit must show. */
export const chargeFailureCodes = [
  'CHARGER_NOT_ATTESTED',
  'DEVICE_NOT_ACTIVE',
  'DEVICE_PIN_LOCKED',
  'DEVICE_PROOF_REJECTED',
  // A range it delivered was destroyed since (a restart found it half-delivered, or its device or an admin destroyed it).
  'DELIVERED_KEY_DESTROYED',
] as const;
export type ChargeFailureCode = (typeof chargeFailureCodes)[number];

/** A failure code, or an operator's or the charging process's own words (FailCharge). */
export const ChargeFailureReason = rule(
  t.string,
  `one of ${chargeFailureCodes.join(', ')}, or text of 1 to 200 characters`,
  (s) => (chargeFailureCodes as readonly string[]).includes(s) || Text.is(s),
);

export const RangeToDestroy = t.exact(t.type({ sourceId: Identifier, rangeId: Identifier }), 'RangeToDestroy');
export type RangeToDestroy = t.TypeOf<typeof RangeToDestroy>;

export const ChargeStarted = message('ChargeStarted', {
  chargeId: Identifier,
  deviceSerial: Serial,
  chargerId: Identifier,
  sourceId: Identifier,
  bytes: PositiveInt,
});
export const ChargeDeviceVerified = message('ChargeDeviceVerified', {
  chargeId: Identifier,
  deviceSerial: Serial,
  method: VerificationMethod,
});
export const ChargeKeysDelivered = message('ChargeKeysDelivered', {
  chargeId: Identifier,
  sourceId: Identifier,
  rangeId: Identifier,
  offset: NonNegativeInt,
  length: PositiveInt,
  commitment: Sha256Hex,
});
export const ChargeCompleted = message('ChargeCompleted', {
  chargeId: Identifier,
  deviceSerial: Serial,
  chargerId: Identifier,
  bytes: PositiveInt,
  /** The device's digest over what it stored, kept so the audit can show what the device confirmed. */
  deviceAcknowledgement: Sha256Hex,
});
export const ChargeFailed = message('ChargeFailed', {
  chargeId: Identifier,
  deviceSerial: Serial,
  chargerId: Identifier,
  reason: ChargeFailureReason,
  /** Every range that left the platform in this charge: the key pool destroys them, never releases them. */
  rangesToDestroy: t.readonlyArray(RangeToDestroy),
});

export const chargeEventCodecs = {
  ChargeStarted,
  ChargeDeviceVerified,
  ChargeKeysDelivered,
  ChargeCompleted,
  ChargeFailed,
};

export type ChargeEvent = t.TypeOf<(typeof chargeEventCodecs)[keyof typeof chargeEventCodecs]>;
