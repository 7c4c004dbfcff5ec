import { ViewOp } from '../../application/ports/view-store';
import { PoolBalance } from '../../application/ports/read-models';
import { eachEvent, NO_OPS, Projection } from '../projection';

// Keys: bytes by state per key pool, bytes per device, and per pool which device holds each issued range.
export const poolKey = (sourceId: string): string => `balance:pool:${sourceId}`;
export const ALL_POOLS = 'balance:pools';
export const DEVICE_BALANCE_PREFIX = 'balance:device:';
export const deviceBalanceKey = (serial: string): string => DEVICE_BALANCE_PREFIX + serial;
export const rangeOwnersKey = (sourceId: string): string => `balance:owners:${sourceId}`;

type PoolBucket = Exclude<keyof PoolBalance, 'sourceId' | 'ingested'>;

const previousBucket: Record<'RESERVED' | 'ISSUED' | 'FROZEN' | 'CONSUMED', PoolBucket> = {
  RESERVED: 'reserved',
  ISSUED: 'issued',
  FROZEN: 'frozen',
  CONSUMED: 'consumed',
};

const move = (sourceId: string, from: PoolBucket, to: PoolBucket, length: number): ViewOp => ({
  kind: 'incr',
  key: poolKey(sourceId),
  by: { [from]: -length, [to]: length },
});

const onDevice = (sourceId: string, rangeId: string, by: Record<string, number>): ViewOp => ({
  kind: 'incrVia',
  via: rangeOwnersKey(sourceId),
  viaField: rangeId,
  keyPrefix: DEVICE_BALANCE_PREFIX,
  by,
});

/**
 * Pool totals follow each range's state exactly as the key pool aggregate counts them, so
 * available + reserved + issued + frozen + consumed + destroyed = ingested after every event.
 * A device's totals follow the ranges issued to it.
 */
export const keyBalanceProjection: Projection = eachEvent('key-balances', ({ event }) => {
  switch (event?.type) {
    case 'KeyMaterialIngested': {
      const { sourceId, length } = event.data;
      return [
        { kind: 'incr', key: poolKey(sourceId), by: { ingested: length, available: length } },
        { kind: 'index', key: ALL_POOLS, members: [sourceId] },
      ];
    }
    case 'KeyRangeReserved':
      return [move(event.data.sourceId, 'available', 'reserved', event.data.length)];
    case 'KeyRangeIssued': {
      const { sourceId, rangeId, length, deviceSerial } = event.data;
      return [
        move(sourceId, 'reserved', 'issued', length),
        { kind: 'set', key: rangeOwnersKey(sourceId), fields: { [rangeId]: deviceSerial } },
        { kind: 'incr', key: deviceBalanceKey(deviceSerial), by: { charged: length } },
      ];
    }
    case 'KeyRangeReleased':
      return [move(event.data.sourceId, 'reserved', 'available', event.data.length)];
    case 'KeyRangeFrozen': {
      const { sourceId, rangeId, length } = event.data;
      return [move(sourceId, 'issued', 'frozen', length), onDevice(sourceId, rangeId, { frozen: length })];
    }
    case 'KeyRangeRestored': {
      const { sourceId, rangeId, length } = event.data;
      return [move(sourceId, 'frozen', 'issued', length), onDevice(sourceId, rangeId, { frozen: -length })];
    }
    case 'KeyRangeConsumed': {
      const { sourceId, rangeId, length } = event.data;
      return [move(sourceId, 'issued', 'consumed', length), onDevice(sourceId, rangeId, { consumed: length })];
    }
    case 'KeyRangeDestroyed': {
      const { sourceId, rangeId, length, previousStatus } = event.data;
      const from = previousBucket[previousStatus];
      // A reserved range never reached a device; on a device the bytes leave the total they were in.
      const device: Record<string, number> =
        from === 'issued' ? { destroyed: length } : { [from]: -length, destroyed: length };
      return [
        move(sourceId, from, 'destroyed', length),
        ...(from === 'reserved' ? [] : [onDevice(sourceId, rangeId, device)]),
      ];
    }
    default:
      return NO_OPS;
  }
});
