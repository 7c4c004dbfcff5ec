import { ChargerView, Page, PageRequest } from '../../application/ports/read-models';
import { ViewReads } from '../../application/ports/view-store';
import { decodeCursor, encodeCursor, pageOfMembers, pageSize } from '../paging';
import { orNull, whole } from '../view-fields';
import { ALL_CHARGERS, chargerKey } from './projection';

const LIST = 'chargers';

const toView = (h: Readonly<Record<string, string>>): ChargerView => ({
  chargerId: h.chargerId,
  location: h.location,
  status: h.status as ChargerView['status'],
  registeredAt: h.registeredAt,
  attestedAt: orNull(h, 'attestedAt'),
  attestationFailedAt: orNull(h, 'attestationFailedAt'),
  revokedAt: orNull(h, 'revokedAt'),
  bytesCharged: whole(h, 'bytesCharged'),
  position: whole(h, 'position'),
});

export const charger = async (views: ViewReads, chargerId: string): Promise<ChargerView | null> => {
  const [fields] = await views.hashes([chargerKey(chargerId)]);
  return fields === null ? null : toView(fields);
};

/** Chargers by id. */
export const chargers = async (views: ViewReads, page: PageRequest): Promise<Page<ChargerView>> => {
  const first = pageSize(page);
  const after = decodeCursor(LIST, page.after);
  const found = await pageOfMembers(views, { indexes: [ALL_CHARGERS], min: '-', max: '+', rev: false, after, first });
  const hashes = await views.hashes(found.members.map(chargerKey));
  return {
    items: hashes.flatMap((h) => (h === null ? [] : [toView(h)])),
    total: found.total,
    endCursor: found.more ? encodeCursor(LIST, found.members[found.members.length - 1]) : null,
  };
};
