import * as t from 'io-ts';
import { message, rule } from '../shared/codec';
import { Identifier, NonNegativeInt, PositiveInt, Serial, Sha256Hex, Text } from '../shared/types';

export const VerificationMethod = t.keyof({ CERTIFICATE: null, QK_STRING: null }, 'one of CERTIFICATE, QK_STRING');
export type VerificationMethod = t.TypeOf<typeof VerificationMethod>;

/** The paper's kiosk offers charging volumes of 1 MB to 9 MB: a charge asks for at most 9 MiB. */
export const MAX_CHARGE_BYTES = 9 * 1024 * 1024;
/** One chargeKeys answer carries at most this much key, so no answer holds a whole pool and the kiosk's bar moves. */
export const MAX_DELIVERY_BYTES = 64 * 1024;

const ChargeBytes = rule(t.number, `a whole number of bytes from 1 to ${MAX_CHARGE_BYTES} (9 MiB)`, (n) =>
  Number.isSafeInteger(n) && n > 0 && n <= MAX_CHARGE_BYTES,
);

export const StartCharge = message('StartCharge', {
  chargeId: Identifier,
  deviceSerial: Serial,
  chargerId: Identifier,
  sourceId: Identifier,
  bytes: ChargeBytes,
});
/** The platform's own check of the device's proof (paper, step 3.3); the proof itself stays outside the domain. */
export const RecordChargeDeviceVerification = message('RecordChargeDeviceVerification', {
  chargeId: Identifier,
  verified: t.boolean,
  method: VerificationMethod,
});
export const DeliverChargeKeys = message('DeliverChargeKeys', {
  chargeId: Identifier,
  sourceId: Identifier,
  rangeId: Identifier,
  offset: NonNegativeInt,
  length: PositiveInt,
  commitment: Sha256Hex,
});
export const CompleteCharge = message('CompleteCharge', { chargeId: Identifier, deviceAcknowledgement: Sha256Hex });
export const FailCharge = message('FailCharge', { chargeId: Identifier, reason: Text });

export const chargeCommandCodecs = {
  StartCharge,
  RecordChargeDeviceVerification,
  DeliverChargeKeys,
  CompleteCharge,
  FailCharge,
};

export type ChargeCommand = t.TypeOf<(typeof chargeCommandCodecs)[keyof typeof chargeCommandCodecs]>;
