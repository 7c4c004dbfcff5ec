import { DeviceKind } from '../shared/types';

export type DeviceStatus = 'NONE' | 'INITIALIZED' | 'DISTRIBUTED' | 'ACTIVE' | 'LOST' | 'FROZEN' | 'DESTROYED';
export type CredentialKind = 'CERTIFICATE' | 'QK_STRING';

export interface DeviceState {
  /** NONE until DeviceInitialized. */
  readonly status: DeviceStatus;
  readonly serial?: string;
  readonly kind?: DeviceKind;
  readonly credentialKind?: CredentialKind;
  readonly organisation?: string;
  readonly userId?: string;
  /** Consecutive failed PIN entries since the last success or unblock. */
  readonly pinFailures: number;
  readonly pinLocked: boolean;
}

export const initialDeviceState: DeviceState = { status: 'NONE', pinFailures: 0, pinLocked: false };
