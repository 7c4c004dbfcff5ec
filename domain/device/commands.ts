import * as t from 'io-ts';
import { message } from '../shared/codec';
import { DeviceKind, Identifier, Serial, Sha256Hex, Text } from '../shared/types';
import { AuthenticationFailureReason, CredentialKind } from './fields';

// The fingerprint is a digest or keyed commitment of the credential, never the credential itself.
export const InitializeDevice = message('InitializeDevice', {
  serial: Serial,
  kind: DeviceKind,
  credentialKind: CredentialKind,
  credentialFingerprint: Sha256Hex,
});
export const DistributeDevice = message('DistributeDevice', { serial: Serial, organisation: Identifier });
export const BindDevice = message('BindDevice', { serial: Serial, userId: Identifier });
export const ReportDeviceLost = message('ReportDeviceLost', { serial: Serial, reason: Text });
export const CancelDeviceLoss = message('CancelDeviceLoss', { serial: Serial });
export const FreezeDevice = message('FreezeDevice', { serial: Serial, reason: Text });
export const RestoreDevice = message('RestoreDevice', { serial: Serial });
export const DestroyDevice = message('DestroyDevice', { serial: Serial, reason: Text });
// A kiosk checks a device's PIN at the start of a charge: chargeId names that charge, so that only
// the kiosk charging the device can report on it. The device's state does not depend on it.
export const RecordDeviceAuthenticationFailure = message('RecordDeviceAuthenticationFailure', {
  serial: Serial,
  chargerId: Identifier,
  chargeId: Identifier,
  reason: AuthenticationFailureReason,
});
export const RecordDeviceAuthenticated = message('RecordDeviceAuthenticated', {
  serial: Serial,
  chargerId: Identifier,
  chargeId: Identifier,
});
export const UnblockDevicePin = message('UnblockDevicePin', { serial: Serial });

export const deviceCommandCodecs = {
  InitializeDevice,
  DistributeDevice,
  BindDevice,
  ReportDeviceLost,
  CancelDeviceLoss,
  FreezeDevice,
  RestoreDevice,
  DestroyDevice,
  RecordDeviceAuthenticationFailure,
  RecordDeviceAuthenticated,
  UnblockDevicePin,
} as const;

export type DeviceCommand = t.TypeOf<(typeof deviceCommandCodecs)[keyof typeof deviceCommandCodecs]>;
