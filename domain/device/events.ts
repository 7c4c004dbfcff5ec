import * as t from 'io-ts';
import { message } from '../shared/codec';
import { DeviceKind, Identifier, PositiveInt, Serial, Sha256Hex, Text } from '../shared/types';
import { AuthenticationFailureReason, CredentialKind } from './fields';

export const DeviceInitialized = message('DeviceInitialized', {
  serial: Serial,
  kind: DeviceKind,
  credentialKind: CredentialKind,
  credentialFingerprint: Sha256Hex,
});
export const DeviceDistributed = message('DeviceDistributed', { serial: Serial, organisation: Identifier });
/** Registration and activation in one: the device now belongs to its user. */
export const DeviceBound = message('DeviceBound', { serial: Serial, userId: Identifier });
export const DeviceReportedLost = message('DeviceReportedLost', { serial: Serial, reason: Text });
export const DeviceLossCancelled = message('DeviceLossCancelled', { serial: Serial });
export const DeviceFrozen = message('DeviceFrozen', { serial: Serial, reason: Text });
export const DeviceRestored = message('DeviceRestored', { serial: Serial });
export const DeviceDestroyed = message('DeviceDestroyed', { serial: Serial, reason: Text });
export const DeviceAuthenticationFailed = message('DeviceAuthenticationFailed', {
  serial: Serial,
  chargerId: Identifier,
  reason: AuthenticationFailureReason,
  /** Failures of any reason in a row, this one included. */
  consecutiveFailures: PositiveInt,
});
export const DeviceAuthenticated = message('DeviceAuthenticated', { serial: Serial, chargerId: Identifier });
export const DevicePinLocked = message('DevicePinLocked', { serial: Serial, failures: PositiveInt });
export const DevicePinUnblocked = message('DevicePinUnblocked', { serial: Serial });

export const deviceEventCodecs = {
  DeviceInitialized,
  DeviceDistributed,
  DeviceBound,
  DeviceReportedLost,
  DeviceLossCancelled,
  DeviceFrozen,
  DeviceRestored,
  DeviceDestroyed,
  DeviceAuthenticationFailed,
  DeviceAuthenticated,
  DevicePinLocked,
  DevicePinUnblocked,
} as const;

export type DeviceEvent = t.TypeOf<(typeof deviceEventCodecs)[keyof typeof deviceEventCodecs]>;
