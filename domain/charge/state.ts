import { ChargerState } from '../charger/state';
import { DeviceState } from '../device/state';
import { KeyPoolState, rangeOf, RangeStatus } from '../keypool/state';
import { VerificationMethod } from './commands';
import { RangeToDestroy } from './events';

export type ChargeStatus = 'NONE' | 'STARTED' | 'DEVICE_VERIFIED' | 'KEYS_DELIVERED' | 'COMPLETED' | 'FAILED';
export type OpenChargeStatus = 'STARTED' | 'DEVICE_VERIFIED' | 'KEYS_DELIVERED';

/** What a started charge knows. */
export interface ChargeFacts {
  readonly chargeId: string;
  readonly deviceSerial: string;
  readonly chargerId: string;
  /** The key pool the charge draws from. */
  readonly sourceId: string;
  /** Bytes asked for. */
  readonly bytes: number;
  /** Bytes delivered so far. */
  readonly delivered: number;
  /** Ranges delivered so far, in order: they have left the platform. */
  readonly ranges: readonly RangeToDestroy[];
  readonly method?: VerificationMethod;
}

export type OpenCharge = ChargeFacts & { readonly status: OpenChargeStatus };

/** A start refused for security reasons fails at once, so a failed charge may lack what only ChargeStarted records. */
export type FailedCharge = Partial<ChargeFacts> &
  Pick<ChargeFacts, 'chargeId' | 'deviceSerial' | 'chargerId'> & { readonly status: 'FAILED'; readonly reason: string };

/** COMPLETED and FAILED are terminal. */
export type ChargeState =
  | { readonly status: 'NONE' }
  | OpenCharge
  | (ChargeFacts & { readonly status: 'COMPLETED' })
  | FailedCharge;

export const initialChargeState: ChargeState = { status: 'NONE' };

/** What decide sees: the charge, and the device and charger it names, loaded by the application. */
export interface ChargeDecisionState {
  readonly charge: ChargeState;
  readonly device: DeviceState;
  readonly charger: ChargerState;
  /** Where each range the charge delivered is now in its key pool, by range id. */
  readonly rangeStatus: ReadonlyMap<string, RangeStatus>;
}

/** Where each range the charge delivered is now in `pool`, the key pool it draws from. */
export const deliveredRangeStatus = (charge: ChargeState, pool: KeyPoolState): ReadonlyMap<string, RangeStatus> =>
  new Map(
    (charge.status === 'NONE' ? [] : (charge.ranges ?? [])).flatMap(({ rangeId }): [string, RangeStatus][] => {
      const range = rangeOf(pool, rangeId);
      return range === undefined ? [] : [[rangeId, range.status]];
    }),
  );
