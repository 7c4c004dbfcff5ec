import * as E from 'fp-ts/Either';
import { alreadyExists, DomainError } from '../shared/errors';
import { SaeKeysCommand } from './commands';
import { SaeKeysEvent } from './events';
import { rangeKey, SaeKeysState } from './state';

type Decision = E.Either<DomainError, readonly SaeKeysEvent[]>;

/** ETSI GS QKD 014's own words for an unknown key ID; already delivered keys are gone, so unknown too. */
export const KEYS_NOT_FOUND = 'one or more keys specified are not found on KME';

const keysNotFound = (keyIds: readonly string[]): DomainError => ({
  code: 'NOT_FOUND',
  message: KEYS_NOT_FOUND,
  details: { entity: 'key', keyIds: keyIds.join(',') },
});

const notASlave = (slaveSaeId: string, masterSaeId: string): DomainError => ({
  code: 'INVALID_STATE',
  message: `SAE ${slaveSaeId} is not a slave of these keys of master SAE ${masterSaeId}; only the SAEs named when the keys were obtained may fetch them`,
  details: { entity: 'key', id: masterSaeId, state: 'NOT_A_SLAVE', action: 'deliver' },
});

const duplicates = (ids: readonly string[]): string[] => ids.filter((id, i) => ids.indexOf(id) !== i);

export const decide = (command: SaeKeysCommand, state: SaeKeysState): Decision => {
  switch (command.type) {
    case 'IssueSaeKeys': {
      const { masterSaeId, slaveSaeIds, requestId, keys } = command.data;
      if (state.requests.has(requestId)) return E.left(alreadyExists('key request', requestId));
      const ids = keys.map((k) => k.keyId);
      const taken = ids.filter((id) => state.keys.has(id)).concat(duplicates(ids));
      if (taken.length > 0) return E.left(alreadyExists('key ID', taken[0]));
      if (slaveSaeIds.includes(masterSaeId)) {
        return E.left({
          code: 'INVALID_INPUT',
          message: `slaveSaeIds: must not name the master SAE ${masterSaeId}`,
          issues: [{ field: 'slaveSaeIds', rule: 'must not name the master SAE' }],
        });
      }
      return E.right([{ type: 'SaeKeysIssued', data: command.data }]);
    }
    case 'DeliverSaeKeys': {
      const { masterSaeId, slaveSaeId, keyIds } = command.data;
      const missing = keyIds
        .filter((id) => state.keys.get(id) === undefined || state.keys.get(id)!.deliveredTo !== undefined)
        .concat(duplicates(keyIds));
      if (missing.length > 0) return E.left(keysNotFound(missing));
      const found = keyIds.map((id) => state.keys.get(id)!);
      if (found.some((k) => k.slaveSaeIds.length > 0 && !k.slaveSaeIds.includes(slaveSaeId))) {
        return E.left(notASlave(slaveSaeId, masterSaeId));
      }
      // A range is done when this delivery takes the last of its keys that waited for a slave.
      const deliveredPerRange = new Map<string, { sourceId: string; rangeId: string; count: number }>();
      for (const { sourceId, rangeId } of found) {
        const entry = deliveredPerRange.get(rangeKey(sourceId, rangeId)) ?? { sourceId, rangeId, count: 0 };
        deliveredPerRange.set(rangeKey(sourceId, rangeId), { ...entry, count: entry.count + 1 });
      }
      const rangesDone = [...deliveredPerRange]
        .filter(([range, { count }]) => state.waitingPerRange.get(range) === count)
        .map(([, { sourceId, rangeId }]) => ({ sourceId, rangeId }));
      const places = found.map(({ keyId, sourceId, rangeId, offset, length }) => ({ keyId, sourceId, rangeId, offset, length }));
      return E.right([{ type: 'SaeKeysDelivered', data: { masterSaeId, slaveSaeId, keys: places, rangesDone } }]);
    }
    case 'RecordSaeKeyRefusal':
      return E.right([{ type: 'SaeKeyRequestRefused', data: command.data }]);
  }
};
