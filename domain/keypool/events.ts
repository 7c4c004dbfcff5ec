import * as t from 'io-ts';
import { message } from '../shared/codec';
import { Fraction, Identifier, NonNegativeInt, PositiveInt, Serial, Sha256Hex, Text } from '../shared/types';

// Every range event carries the range's offset and length, so a projection (balance, audit) needs
// no lookup of earlier events to know which bytes moved.
const range = { sourceId: Identifier, rangeId: Identifier, offset: NonNegativeInt, length: PositiveInt };

/** The states a range can be destroyed from; recorded so a balance projection knows which total shrinks. */
export const DestroyableStatus = t.keyof(
  { RESERVED: null, ISSUED: null, FROZEN: null, CONSUMED: null },
  'one of RESERVED, ISSUED, FROZEN, CONSUMED',
);

export const KeyMaterialIngested = message('KeyMaterialIngested', {
  sourceId: Identifier,
  blockId: Identifier,
  /** Bytes ingested before this block: the block is [offset, offset+length) of the pool. */
  offset: NonNegativeInt,
  length: PositiveInt,
  qber: Fraction,
  commitment: Sha256Hex,
});
export const KeyBlockDiscarded = message('KeyBlockDiscarded', { sourceId: Identifier, blockId: Identifier, reason: Text });
export const KeyRangeReserved = message('KeyRangeReserved', { ...range, chargeId: Identifier });
export const KeyRangeIssued = message('KeyRangeIssued', { ...range, deviceSerial: Serial });
export const KeyRangeReleased = message('KeyRangeReleased', range);
export const KeyRangeFrozen = message('KeyRangeFrozen', { ...range, reason: Text });
export const KeyRangeRestored = message('KeyRangeRestored', range);
export const KeyRangeConsumed = message('KeyRangeConsumed', range);
export const KeyRangeDestroyed = message('KeyRangeDestroyed', {
  ...range,
  previousStatus: DestroyableStatus,
  reason: Text,
});

export const keyPoolEventCodecs = {
  KeyMaterialIngested,
  KeyBlockDiscarded,
  KeyRangeReserved,
  KeyRangeIssued,
  KeyRangeReleased,
  KeyRangeFrozen,
  KeyRangeRestored,
  KeyRangeConsumed,
  KeyRangeDestroyed,
};

export type KeyPoolEvent = t.TypeOf<(typeof keyPoolEventCodecs)[keyof typeof keyPoolEventCodecs]>;
