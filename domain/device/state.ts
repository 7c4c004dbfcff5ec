import { DeviceKind } from '../shared/types';

export type DeviceStatus = 'NONE' | 'INITIALIZED' | 'DISTRIBUTED' | 'ACTIVE' | 'LOST' | 'FROZEN' | 'DESTROYED';
export type CredentialKind = 'CERTIFICATE' | 'QK_STRING';

export interface DeviceState {
  /** NONE until DeviceInitialized. */
  readonly status: DeviceStatus;
  readonly serial?: string;
  readonly kind?: DeviceKind;
  readonly credentialKind?: CredentialKind;
  /** SHA-256 of the public certificate or keyed commitment of the QK string: what a device proof is checked against. */
  readonly credentialFingerprint?: string;
  readonly organisation?: string;
  readonly userId?: string;
  /** Consecutive failed PIN entries since the last success or unblock. */
  readonly pinFailures: number;
  /** Consecutive failed authentications of any reason (PIN, proof, credential) since the last success or unblock. */
  readonly consecutiveFailures: number;
  readonly pinLocked: boolean;
}

export const initialDeviceState: DeviceState = {
  status: 'NONE',
  pinFailures: 0,
  consecutiveFailures: 0,
  pinLocked: false,
};
