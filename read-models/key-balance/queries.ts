import { DeviceKeyBalance, PoolBalance } from '../../application/ports/read-models';
import { ViewReads } from '../../application/ports/view-store';
import { deviceKey } from '../device/projection';
import { whole } from '../view-fields';
import { ALL_POOLS, deviceBalanceKey, poolKey } from './projection';

/** Null for a device the views do not know; zeros for a known device that holds no key yet. */
export const deviceBalance = async (views: ViewReads, serial: string): Promise<DeviceKeyBalance | null> => {
  const [balance, device] = await views.hashes([deviceBalanceKey(serial), deviceKey(serial)]);
  if (balance === null && device === null) return null;
  const h = balance ?? {};
  const [charged, consumed, frozen, destroyed] = ['charged', 'consumed', 'frozen', 'destroyed'].map((f) => whole(h, f));
  return { serial, charged, consumed, frozen, destroyed, remaining: charged - consumed - frozen - destroyed };
};

const toPool = (sourceId: string, h: Readonly<Record<string, string>>): PoolBalance => ({
  sourceId,
  ingested: whole(h, 'ingested'),
  available: whole(h, 'available'),
  reserved: whole(h, 'reserved'),
  issued: whole(h, 'issued'),
  frozen: whole(h, 'frozen'),
  consumed: whole(h, 'consumed'),
  destroyed: whole(h, 'destroyed'),
});

export const poolBalance = async (views: ViewReads, sourceId: string): Promise<PoolBalance | null> => {
  const [fields] = await views.hashes([poolKey(sourceId)]);
  return fields === null ? null : toPool(sourceId, fields);
};

/** Every key pool, by source id. */
export const pools = async (views: ViewReads): Promise<PoolBalance[]> => {
  const sourceIds = await views.range(ALL_POOLS, { min: '-', max: '+' });
  const hashes = await views.hashes(sourceIds.map(poolKey));
  return sourceIds.flatMap((sourceId, i) => {
    const h = hashes[i];
    return h === null ? [] : [toPool(sourceId, h)];
  });
};
