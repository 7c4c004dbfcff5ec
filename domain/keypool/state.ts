import { FreeSegments } from './free-segments';
import { Map as ImmutableMap } from 'immutable';

/**
 * A carved range's life, NIST SP 800-57 states in brackets: RESERVED for a charge, ISSUED to a
 * device (active), FROZEN (suspended), CONSUMED (deactivated), DESTROYED (final). RELEASED: its
 * bytes went back to AVAILABLE (pre-activation) before leaving the platform; the id stays taken.
 */
export type RangeStatus = 'RESERVED' | 'ISSUED' | 'FROZEN' | 'CONSUMED' | 'DESTROYED' | 'RELEASED';

export interface KeyRange {
  readonly rangeId: string;
  readonly offset: number;
  readonly length: number;
  readonly chargeId: string;
  readonly status: RangeStatus;
  readonly deviceSerial?: string;
}

/** Bytes by state; available + reserved + issued + frozen + consumed + destroyed === ingested. */
export interface PoolBalance {
  readonly ingested: number;
  readonly available: number;
  readonly reserved: number;
  readonly issued: number;
  readonly frozen: number;
  readonly consumed: number;
  readonly destroyed: number;
}

export interface KeyPoolState {
  /** NONE until the first KeyMaterialIngested. */
  readonly status: 'NONE' | 'OPEN';
  /** The pool is the byte line [0, balance.ingested). */
  readonly balance: PoolBalance;
  readonly free: FreeSegments;
  // Persistent maps: evolve copies only the path to a changed key, so a fold over 10^5 range
  // events stays linear where copying a Map per event would make it quadratic.
  readonly ranges: ImmutableMap<string, KeyRange>;
  /** Ids of ingested blocks, each to the offset it was ingested at. */
  readonly blocks: ImmutableMap<string, number>;
}

export const initialKeyPoolState: KeyPoolState = {
  status: 'NONE',
  balance: { ingested: 0, available: 0, reserved: 0, issued: 0, frozen: 0, consumed: 0, destroyed: 0 },
  free: [],
  ranges: ImmutableMap(),
  blocks: ImmutableMap(),
};

export const poolBalance = (state: KeyPoolState): PoolBalance => state.balance;

export const rangeOf = (state: KeyPoolState, rangeId: string): KeyRange | undefined => state.ranges.get(rangeId);

/** Where a block was ingested, if it was. */
export const blockOffset = (state: KeyPoolState, blockId: string): number | undefined => state.blocks.get(blockId);
