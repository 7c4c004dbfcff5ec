import { PageRequest } from '../application/ports/read-models';
import { LexBound, ViewStore } from '../application/ports/view-store';
import { invalidQuery } from './errors';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
const SCAN_CHUNK = 500;

export const pageSize = (page: PageRequest): number => {
  const first = page.first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isSafeInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw invalidQuery('first', `must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  }
  return first;
};

// A cursor is the last member of the previous page, tagged with its list so that a cursor of
// one list is refused by another; opaque to clients.
export const encodeCursor = (list: string, member: string): string =>
  Buffer.from(JSON.stringify([list, member])).toString('base64url');

export const decodeCursor = (list: string, cursor: string | undefined): string | undefined => {
  if (cursor === undefined) return undefined;
  try {
    const [tag, member] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (tag === list && typeof member === 'string') return member;
  } catch {
    // fall through to the error below
  }
  throw invalidQuery('after', `must be the endCursor of a previous page of ${list}`);
};

/** The tighter of an upper bound and "below member". */
const below = (max: LexBound, member: string): LexBound => (max === '+' || member <= max.slice(1) ? `(${member}` : max);
/** The tighter of a lower bound and "above member". */
const above = (min: LexBound, member: string): LexBound => (min === '-' || member >= min.slice(1) ? `(${member}` : min);

export interface IndexQuery {
  /** Members must be in every one of these indexes (at least one). */
  readonly indexes: readonly string[];
  readonly min: LexBound;
  readonly max: LexBound;
  /** Greatest first. */
  readonly rev: boolean;
  /** Start after this member (the previous page's last). */
  readonly after: string | undefined;
  readonly first: number;
}

export interface MemberPage {
  readonly members: string[];
  /** Members matching over all pages. */
  readonly total: number;
  readonly more: boolean;
}

/**
 * One page of the members common to several indexes, in order. With one index the store counts
 * and ranges directly; with more, the smallest is scanned in chunks and each member looked up in
 * the others, so the cost follows the most selective filter.
 */
export const pageOfMembers = async (views: ViewStore, query: IndexQuery): Promise<MemberPage> => {
  const { indexes, min, max, rev, after, first } = query;
  const sizes = await views.counts(indexes.map((key) => ({ key, min, max })));
  if (indexes.length === 1) {
    const [start, end] = after === undefined ? [min, max] : rev ? [min, below(max, after)] : [above(min, after), max];
    const members = await views.range(indexes[0], { min: start, max: end, rev, count: first + 1 });
    return { members: members.slice(0, first), total: sizes[0], more: members.length > first };
  }
  if (sizes.some((size) => size === 0)) return { members: [], total: 0, more: false };
  const smallest = sizes.indexOf(Math.min(...sizes));
  const others = indexes.filter((_, i) => i !== smallest);
  const page: string[] = [];
  let total = 0;
  let [start, end] = [min, max];
  for (;;) {
    const chunk = await views.range(indexes[smallest], { min: start, max: end, rev, count: SCAN_CHUNK });
    let matching = chunk;
    for (const key of others) {
      const found = await views.contains(key, matching);
      matching = matching.filter((_, i) => found[i]);
    }
    total += matching.length;
    for (const member of matching) {
      const pastCursor = after === undefined || (rev ? member < after : member > after);
      if (pastCursor && page.length <= first) page.push(member);
    }
    if (chunk.length < SCAN_CHUNK) break;
    const last = chunk[chunk.length - 1];
    if (rev) end = `(${last}`;
    else start = `(${last}`;
  }
  return { members: page.slice(0, first), total, more: page.length > first };
};
