import * as E from 'fp-ts/Either';
import { alreadyExists, DomainError, invalidState, notFound } from '../shared/errors';
import { KeyPoolCommand } from './commands';
import { KeyPoolEvent } from './events';
import { firstFit, largestSegment } from './free-segments';
import { blockOffset, KeyPoolState, KeyRange, rangeOf, RangeStatus } from './state';

type Decision = E.Either<DomainError, readonly KeyPoolEvent[]>;

const insufficientKey = (sourceId: string, requested: number, available: number, largest: number): DomainError => ({
  code: 'INSUFFICIENT_KEY',
  message:
    available < requested
      ? `key pool ${sourceId} has ${available} bytes available, ${requested} requested; generate or ingest more key`
      : `key pool ${sourceId} has ${available} bytes available but its largest contiguous segment is ` +
        `${largest} bytes, ${requested} requested; reserve at most ${largest} bytes per range, ` +
        'or generate or ingest more key',
  details: { sourceId, requested, available, largestSegment: largest },
});

/** A range command: the states it is allowed from, and for any other state what to do instead. */
interface RangeRule<F extends RangeStatus> {
  readonly action: string;
  readonly from: readonly F[];
  readonly refusal: (status: RangeStatus) => string;
}

const isIn = <F extends RangeStatus>(from: readonly F[], status: RangeStatus): status is F =>
  (from as readonly RangeStatus[]).includes(status);

const issue: RangeRule<'RESERVED'> = {
  action: 'issue',
  from: ['RESERVED'],
  refusal: () => 'a range is issued once; reserve a new range for another charge',
};
const release: RangeRule<'RESERVED'> = {
  action: 'release',
  from: ['RESERVED'],
  refusal: (status) =>
    status === 'RELEASED'
      ? 'it is already released; nothing to do'
      : status === 'DESTROYED'
        ? 'a destroyed range is final'
        : 'key that left the platform is destroyed, never released; destroy it instead',
};
const freeze: RangeRule<'ISSUED'> = {
  action: 'freeze',
  from: ['ISSUED'],
  refusal: (status) =>
    status === 'FROZEN' ? 'it is already frozen; restore it to use it again' : 'only an ISSUED range can be frozen',
};
const restore: RangeRule<'FROZEN'> = {
  action: 'restore',
  from: ['FROZEN'],
  refusal: () => 'only a FROZEN range can be restored',
};
const consume: RangeRule<'ISSUED'> = {
  action: 'consume',
  from: ['ISSUED'],
  refusal: (status) => (status === 'FROZEN' ? 'restore it first' : 'only an ISSUED range can be consumed'),
};
const destroy: RangeRule<'RESERVED' | 'ISSUED' | 'FROZEN' | 'CONSUMED'> = {
  action: 'destroy',
  from: ['RESERVED', 'ISSUED', 'FROZEN', 'CONSUMED'],
  refusal: (status) =>
    status === 'DESTROYED'
      ? 'it is already destroyed; nothing to do'
      : 'its bytes went back to the pool unused; there is nothing to destroy',
};

/** Applies a rule to a recorded range; events take offset and length from the record, never from the command. */
const onRange = <F extends RangeStatus>(
  state: KeyPoolState,
  sourceId: string,
  rangeId: string,
  rule: RangeRule<F>,
  emit: (range: KeyRange, status: F) => KeyPoolEvent,
): Decision => {
  const range = rangeOf(state, rangeId);
  if (range === undefined) {
    return E.left(notFound('key range', rangeId, `check the id; ranges of key pool ${sourceId} exist once reserved`));
  }
  if (!isIn(rule.from, range.status)) {
    return E.left(invalidState('key range', rangeId, range.status, rule.action, rule.refusal(range.status)));
  }
  return E.right([emit(range, range.status)]);
};

const placeOf = (sourceId: string, range: KeyRange) => ({
  sourceId,
  rangeId: range.rangeId,
  offset: range.offset,
  length: range.length,
});

export const decide = (command: KeyPoolCommand, state: KeyPoolState): Decision => {
  if (command.type !== 'IngestKeyMaterial' && command.type !== 'RecordKeyBlockDiscarded' && state.status === 'NONE') {
    return E.left(notFound('key pool', command.data.sourceId, 'ingest key material into it first'));
  }
  switch (command.type) {
    case 'IngestKeyMaterial': {
      const { blockId } = command.data;
      const ingestedAt = blockOffset(state, blockId);
      if (ingestedAt !== undefined) {
        const message = `key block ${blockId} was already ingested at offset ${ingestedAt}; do not ingest it twice`;
        return E.left({ ...alreadyExists('key block', blockId), message });
      }
      return E.right([{ type: 'KeyMaterialIngested', data: { ...command.data, offset: state.balance.ingested } }]);
    }
    case 'RecordKeyBlockDiscarded': {
      const { blockId } = command.data;
      if (blockOffset(state, blockId) !== undefined) {
        return E.left(invalidState('key block', blockId, 'INGESTED', 'discard', 'an ingested block is key; destroy its ranges instead'));
      }
      return E.right([{ type: 'KeyBlockDiscarded', data: command.data }]);
    }
    case 'ReserveKeyRange': {
      const { sourceId, rangeId, length, chargeId } = command.data;
      if (rangeOf(state, rangeId) !== undefined) return E.left(alreadyExists('key range', rangeId));
      const segment = firstFit(state.free, length);
      if (segment === undefined) {
        return E.left(insufficientKey(sourceId, length, state.balance.available, largestSegment(state.free)));
      }
      const { offset } = segment;
      return E.right([{ type: 'KeyRangeReserved', data: { sourceId, rangeId, offset, length, chargeId } }]);
    }
    case 'IssueKeyRange': {
      const { sourceId, rangeId, deviceSerial } = command.data;
      return onRange(state, sourceId, rangeId, issue, (range) => ({
        type: 'KeyRangeIssued',
        data: { ...placeOf(sourceId, range), deviceSerial },
      }));
    }
    case 'ReleaseKeyRange': {
      const { sourceId, rangeId } = command.data;
      return onRange(state, sourceId, rangeId, release, (range) => ({
        type: 'KeyRangeReleased',
        data: placeOf(sourceId, range),
      }));
    }
    case 'FreezeKeyRange': {
      const { sourceId, rangeId, reason } = command.data;
      return onRange(state, sourceId, rangeId, freeze, (range) => ({
        type: 'KeyRangeFrozen',
        data: { ...placeOf(sourceId, range), reason },
      }));
    }
    case 'RestoreKeyRange': {
      const { sourceId, rangeId } = command.data;
      return onRange(state, sourceId, rangeId, restore, (range) => ({
        type: 'KeyRangeRestored',
        data: placeOf(sourceId, range),
      }));
    }
    case 'ConsumeKeyRange': {
      const { sourceId, rangeId } = command.data;
      return onRange(state, sourceId, rangeId, consume, (range) => ({
        type: 'KeyRangeConsumed',
        data: placeOf(sourceId, range),
      }));
    }
    case 'DestroyKeyRange': {
      const { sourceId, rangeId, reason } = command.data;
      return onRange(state, sourceId, rangeId, destroy, (range, previousStatus) => ({
        type: 'KeyRangeDestroyed',
        data: { ...placeOf(sourceId, range), previousStatus, reason },
      }));
    }
    default: {
      const unhandled: never = command;
      throw new Error(`decide does not handle key pool command ${JSON.stringify(unhandled)}`);
    }
  }
};
