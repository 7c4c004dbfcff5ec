import { DeviceFilter, DeviceView, Page, PageRequest } from '../../application/ports/read-models';
import { ViewReads } from '../../application/ports/view-store';
import { DeviceKind } from '../../domain/shared/types';
import { invalidQuery } from '../errors';
import { decodeCursor, encodeCursor, pageOfMembers, pageSize } from '../paging';
import { orNull, whole } from '../view-fields';
import { ALL_DEVICES, byKind, byOrganisation, byStatus, byUser, deviceKey } from './projection';

const STATUSES: readonly DeviceView['status'][] = ['INITIALIZED', 'DISTRIBUTED', 'ACTIVE', 'LOST', 'FROZEN', 'DESTROYED'];
const LIST = 'devices';

const toView = (h: Readonly<Record<string, string>>): DeviceView => ({
  serial: h.serial,
  kind: h.kind as DeviceKind,
  status: h.status as DeviceView['status'],
  credentialKind: h.credentialKind as DeviceView['credentialKind'],
  organisation: orNull(h, 'organisation'),
  userId: orNull(h, 'userId'),
  pinLocked: h.pinLocked === 'true',
  initializedAt: h.initializedAt,
  distributedAt: orNull(h, 'distributedAt'),
  boundAt: orNull(h, 'boundAt'),
  reportedLostAt: orNull(h, 'reportedLostAt'),
  lossCancelledAt: orNull(h, 'lossCancelledAt'),
  frozenAt: orNull(h, 'frozenAt'),
  restoredAt: orNull(h, 'restoredAt'),
  destroyedAt: orNull(h, 'destroyedAt'),
  pinLockedAt: orNull(h, 'pinLockedAt'),
  pinUnblockedAt: orNull(h, 'pinUnblockedAt'),
  updatedAt: h.updatedAt,
  position: whole(h, 'position'),
});

const indexesFor = (filter: DeviceFilter): string[] => {
  if (filter.status !== undefined && !STATUSES.includes(filter.status)) {
    throw invalidQuery('status', `must be one of ${STATUSES.join(', ')}`);
  }
  if (filter.kind !== undefined && !DeviceKind.is(filter.kind)) throw invalidQuery('kind', `must be ${DeviceKind.name}`);
  const indexes = [
    filter.status && byStatus + filter.status,
    filter.kind && byKind + filter.kind,
    filter.organisation && byOrganisation + filter.organisation,
    filter.userId && byUser + filter.userId,
  ].filter((key): key is string => typeof key === 'string');
  return indexes.length > 0 ? indexes : [ALL_DEVICES];
};

export const device = async (views: ViewReads, serial: string): Promise<DeviceView | null> => {
  const [fields] = await views.hashes([deviceKey(serial)]);
  return fields === null ? null : toView(fields);
};

/** Devices matching every given filter, by serial. */
export const devices = async (views: ViewReads, filter: DeviceFilter, page: PageRequest): Promise<Page<DeviceView>> => {
  const first = pageSize(page);
  const found = await pageOfMembers(views, {
    indexes: indexesFor(filter),
    min: '-',
    max: '+',
    rev: false,
    after: decodeCursor(LIST, page.after),
    first,
  });
  const hashes = await views.hashes(found.members.map(deviceKey));
  return {
    items: hashes.flatMap((h) => (h === null ? [] : [toView(h)])),
    total: found.total,
    endCursor: found.more ? encodeCursor(LIST, found.members[found.members.length - 1]) : null,
  };
};
