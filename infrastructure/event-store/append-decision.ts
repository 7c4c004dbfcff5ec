import {
  AppendResult,
  EventIdConflictError,
  ExpectedRevision,
  revisionMatches,
  WrongExpectedRevisionError,
} from '../../application/ports/event-store';

/** Where an event already sits in the store. */
export interface StoredRef {
  readonly id: string;
  readonly streamId: string;
  readonly revision: number;
  readonly position: number;
}

/**
 * Decides an append from facts the adapter read under its write lock: `actual` is the stream's last
 * revision (-1 when absent) and `found` every stored event whose id is in the batch. Returns the
 * original result when the batch is a retry of a stored append (checked before the revision, so a
 * retry after a lost reply succeeds although its expectation is now stale), or undefined when the
 * adapter should write the batch at revisions actual+1...
 */
export const decideAppend = (
  streamId: string,
  ids: readonly string[],
  expected: ExpectedRevision,
  actual: number,
  found: readonly StoredRef[],
): AppendResult | undefined => {
  if (found.length > 0) return replayed(streamId, ids, found);
  if (!revisionMatches(expected, actual)) throw new WrongExpectedRevisionError(streamId, expected, actual);
  return undefined;
};

const replayed = (streamId: string, ids: readonly string[], found: readonly StoredRef[]): AppendResult => {
  const byId = new Map(found.map((ref) => [ref.id, ref]));
  const first = byId.get(ids[0]);
  ids.forEach((id, i) => {
    const stored = byId.get(id);
    if (stored === undefined) {
      throw new EventIdConflictError(streamId, found[0].id, 'the append mixes events already stored with new ones');
    }
    if (stored.streamId !== streamId) {
      throw new EventIdConflictError(streamId, id, `the id is already used by an event of stream ${stored.streamId}`, stored);
    }
    if (first === undefined || stored.revision !== first.revision + i) {
      throw new EventIdConflictError(streamId, id, 'the append repeats stored events in another order');
    }
  });
  const last = byId.get(ids[ids.length - 1]) as StoredRef;
  return { nextRevision: last.revision, position: last.position, replayed: true };
};
