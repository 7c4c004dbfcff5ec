import { addFree, removeFree } from './free-segments';
import { KeyPoolEvent } from './events';
import { KeyPoolState, KeyRange, PoolBalance, rangeOf, RangeStatus } from './state';

type Bucket = Exclude<keyof PoolBalance, 'ingested'>;

// A RELEASED range's bytes are counted where they went: back to available.
const bucketOf: Record<RangeStatus, Bucket> = {
  RESERVED: 'reserved',
  ISSUED: 'issued',
  FROZEN: 'frozen',
  CONSUMED: 'consumed',
  DESTROYED: 'destroyed',
  RELEASED: 'available',
};

const moveBytes = (balance: PoolBalance, from: Bucket, to: Bucket, length: number): PoolBalance => {
  const taken = { ...balance, [from]: balance[from] - length };
  return { ...taken, [to]: taken[to] + length };
};

/** Moves a range to `status` and its bytes to that status's total; `change` adds what the event brings. */
const transition = (state: KeyPoolState, rangeId: string, status: RangeStatus, change: Partial<KeyRange> = {}) => {
  const range = rangeOf(state, rangeId);
  // decide emits range events for known ranges only; an unknown one changes nothing rather than inventing bytes.
  if (range === undefined) return state;
  return {
    ...state,
    balance: moveBytes(state.balance, bucketOf[range.status], bucketOf[status], range.length),
    ranges: state.ranges.set(rangeId, { ...range, ...change, status }),
  };
};

export const evolve = (state: KeyPoolState, event: KeyPoolEvent): KeyPoolState => {
  switch (event.type) {
    case 'KeyMaterialIngested': {
      const { blockId, offset, length } = event.data;
      return {
        ...state,
        status: 'OPEN',
        balance: {
          ...state.balance,
          ingested: state.balance.ingested + length,
          available: state.balance.available + length,
        },
        free: addFree(state.free, offset, length),
        blocks: state.blocks.set(blockId, offset),
      };
    }
    case 'KeyBlockDiscarded':
      return state;
    case 'KeyRangeReserved': {
      const { rangeId, offset, length, chargeId } = event.data;
      return {
        ...state,
        balance: moveBytes(state.balance, 'available', 'reserved', length),
        free: removeFree(state.free, offset, length),
        ranges: state.ranges.set(rangeId, { rangeId, offset, length, chargeId, status: 'RESERVED' }),
      };
    }
    case 'KeyRangeIssued':
      return transition(state, event.data.rangeId, 'ISSUED', { deviceSerial: event.data.deviceSerial });
    case 'KeyRangeReleased': {
      const released = transition(state, event.data.rangeId, 'RELEASED');
      if (released === state) return state;
      return { ...released, free: addFree(released.free, event.data.offset, event.data.length) };
    }
    case 'KeyRangeFrozen':
      return transition(state, event.data.rangeId, 'FROZEN');
    case 'KeyRangeRestored':
      return transition(state, event.data.rangeId, 'ISSUED');
    case 'KeyRangeConsumed':
      return transition(state, event.data.rangeId, 'CONSUMED');
    case 'KeyRangeDestroyed':
      return transition(state, event.data.rangeId, 'DESTROYED');
    default: {
      const unhandled: never = event;
      throw new Error(`evolve does not handle key pool event ${JSON.stringify(unhandled)}`);
    }
  }
};
