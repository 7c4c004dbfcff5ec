import * as t from 'io-ts';
import { message } from '../shared/codec';
import { Identifier, NonNegativeInt, PositiveInt, Serial, Sha256Hex, Text } from '../shared/types';

export const VerificationMethod = t.keyof({ CERTIFICATE: null, QK_STRING: null }, 'one of CERTIFICATE, QK_STRING');
export type VerificationMethod = t.TypeOf<typeof VerificationMethod>;

export const StartCharge = message('StartCharge', {
  chargeId: Identifier,
  deviceSerial: Serial,
  chargerId: Identifier,
  sourceId: Identifier,
  bytes: PositiveInt,
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
