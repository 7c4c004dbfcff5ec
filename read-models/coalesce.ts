import { ViewOp } from '../application/ports/view-store';

// What an op does to a key, as bits: a key merges only when every op on it is of one mergeable kind.
const SET = 1;
const INCR = 2;
const INDEX = 4;
const OTHER = 8;
/** More than one op touches the key: only such keys have anything to merge. */
const SHARED = 16;

/**
 * Fewer, larger operations with exactly the effect of `ops` applied in order, for a write that
 * applies whole. Operations on a key that nothing else in the write touches or reads commute, so
 * they merge into the first one: plain sets (later fields win), plain increments (summed) and
 * index additions (deduplicated). A replay of a thousand events then adds each index's members in
 * one command, and bumps each counter once. An op alone on its key is passed on as it is, so a
 * projection that groups its own operations costs no copying here.
 */
export const coalesce = (ops: readonly ViewOp[]): readonly ViewOp[] => {
  const roles = new Map<string, number>();
  let shared = false;
  const note = (key: string, role: number): void => {
    const seen = roles.get(key);
    if (seen === undefined) roles.set(key, role);
    else {
      roles.set(key, seen | role | SHARED);
      shared = true;
    }
  };
  // Keys a reindex or incrVia reaches are known by prefix only: another op on them never merges.
  const reached = new Set<string>();
  for (const op of ops) {
    if (op.kind === 'set') note(op.key, op.onlyIfExists ? OTHER : SET);
    else if (op.kind === 'incr') note(op.key, op.onlyIfExists ? OTHER : INCR);
    else if (op.kind === 'index') note(op.key, INDEX);
    else if (op.kind === 'append') note(op.key, OTHER);
    else if (op.kind === 'reindex') {
      note(op.key, OTHER);
      reached.add(op.indexPrefix);
    } else {
      note(op.via, OTHER);
      reached.add(op.keyPrefix);
    }
  }
  if (!shared) return ops;
  const verdicts = new Map<string, boolean>();
  const mergeable = (key: string, role: number): boolean => {
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = roles.get(key) === (role | SHARED);
      for (const prefix of reached) if (verdict && key.startsWith(prefix)) verdict = false;
      verdicts.set(key, verdict);
    }
    return verdict;
  };

  const out: ViewOp[] = [];
  const sets = new Map<string, Record<string, string>>();
  const incrs = new Map<string, Record<string, number>>();
  const indexes = new Map<string, Set<string>>();
  for (const op of ops) {
    if (op.kind === 'set' && !op.onlyIfExists && mergeable(op.key, SET)) {
      const fields = sets.get(op.key);
      if (fields) Object.assign(fields, op.fields);
      else {
        const merged = { ...op.fields };
        sets.set(op.key, merged);
        out.push({ kind: 'set', key: op.key, fields: merged });
      }
    } else if (op.kind === 'incr' && !op.onlyIfExists && mergeable(op.key, INCR)) {
      const by = incrs.get(op.key);
      if (by) for (const field in op.by) by[field] = (by[field] ?? 0) + op.by[field];
      else {
        const merged = { ...op.by };
        incrs.set(op.key, merged);
        out.push({ kind: 'incr', key: op.key, by: merged });
      }
    } else if (op.kind === 'index' && mergeable(op.key, INDEX)) {
      const members = indexes.get(op.key);
      if (members) op.members.forEach((member) => members.add(member));
      else indexes.set(op.key, new Set(op.members));
      if (!members) out.push(op);
    } else out.push(op);
  }
  // Index ops were pushed with their first members; give them the full sets now.
  return out.map((op) => (op.kind === 'index' && indexes.has(op.key) ? { ...op, members: [...indexes.get(op.key)!] } : op));
};
