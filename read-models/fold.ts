import { ViewOp } from '../application/ports/view-store';

/**
 * One record's operations over a stretch of a batch in which whether its hash exists cannot
 * change (before the batch creates it, or after), written back as at most one set, then one
 * increment, then one move per indexed field.
 */
interface Stretch {
  readonly created: boolean;
  fields?: Record<string, string>;
  by?: Record<string, number>;
  /** Per indexed field, its last move. */
  moves?: Map<string, ViewOp>;
}

/**
 * Whether `op` touches a field in an order the stretch cannot keep: a set after an increment or a
 * move of the field, or an increment after a move.
 */
const outOfOrder = ({ by, moves }: Stretch, op: ViewOp): boolean => {
  if (op.kind === 'set') {
    for (const field in op.fields) if ((by !== undefined && field in by) || moves?.has(field)) return true;
  } else if (op.kind === 'incr' && moves !== undefined) {
    for (const field in op.by) if (moves.has(field)) return true;
  }
  return false;
};

const write = (key: string, { created, fields, by, moves }: Stretch, out: ViewOp[]): void => {
  if (fields !== undefined) out.push({ kind: 'set', key, fields, onlyIfExists: !created });
  if (by !== undefined) out.push({ kind: 'incr', key, by, onlyIfExists: !created });
  if (moves !== undefined) for (const move of moves.values()) out.push(move);
};

/**
 * Folds a batch's operations per record, for projections that keep one hash per record (a
 * device, a charger), name it only in set, incr and reindex operations, never reach it by
 * prefix, and change an indexed field only by moving it within one index prefix, so that a
 * record's indexes hold it under its hash's current values. Within a stretch the sets then
 * merge (later fields win), the increments add up, and only each indexed field's last value
 * needs moving: a device initialized, distributed and bound in one batch costs one set and a
 * move per index instead of three sets and six moves, with the same views as its events one by
 * one. Other operations keep their order, ahead of the records'.
 */
export const foldPerRecord = (ops: readonly ViewOp[], isRecord: (key: string) => boolean): ViewOp[] => {
  const out: ViewOp[] = [];
  const records = new Map<string, { done: ViewOp[]; current: Stretch }>();
  for (const op of ops) {
    if ((op.kind !== 'set' && op.kind !== 'incr' && op.kind !== 'reindex') || !isRecord(op.key)) {
      out.push(op);
      continue;
    }
    let record = records.get(op.key);
    if (record === undefined) records.set(op.key, (record = { done: [], current: { created: false } }));
    const creates = op.kind !== 'reindex' && !op.onlyIfExists && !record.current.created;
    if (creates || outOfOrder(record.current, op)) {
      write(op.key, record.current, record.done);
      record.current = { created: creates || record.current.created };
    }
    const current = record.current;
    if (op.kind === 'set') current.fields = Object.assign(current.fields ?? {}, op.fields);
    else if (op.kind === 'incr') {
      const by = (current.by ??= {});
      for (const field in op.by) by[field] = (by[field] ?? 0) + op.by[field];
    } else (current.moves ??= new Map()).set(op.field, op);
  }
  for (const [key, { done, current }] of records) {
    out.push(...done);
    write(key, current, out);
  }
  return out;
};
