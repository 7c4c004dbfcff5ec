import { PageRequest } from '../application/ports/read-models';
import { LexBound, ViewReads } from '../application/ports/view-store';
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
  /** Members must be in every one of these indexes (at least one)... */
  readonly indexes: readonly string[];
  /** ...and in none of these. */
  readonly excluded?: readonly string[];
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

interface Range {
  readonly min: LexBound;
  readonly max: LexBound;
  readonly rev: boolean;
}

/** The members of `chunk` that are in every index of `all` and in no index of `none`. */
const kept = async (views: ViewReads, chunk: string[], all: readonly string[], none: readonly string[]): Promise<string[]> => {
  let matching = chunk;
  for (const [key, wanted] of [...all.map((key) => [key, true] as const), ...none.map((key) => [key, false] as const)]) {
    if (matching.length === 0) break;
    const found = await views.contains(key, matching);
    matching = matching.filter((_, i) => found[i] === wanted);
  }
  return matching;
};

/** Calls `visit` with the members of `key` in the range, in order, a chunk at a time, until it returns false. */
const scan = async (
  views: ViewReads,
  key: string,
  range: Range,
  chunkSize: number,
  visit: (chunk: string[]) => Promise<boolean>,
): Promise<void> => {
  let { min, max } = range;
  for (;;) {
    const chunk = await views.range(key, { min, max, rev: range.rev, count: chunkSize });
    if (!(await visit(chunk)) || chunk.length < chunkSize) return;
    const last = chunk[chunk.length - 1];
    if (range.rev) max = `(${last}`;
    else min = `(${last}`;
  }
};

/**
 * One page of the members common to several indexes and absent from the excluded ones, in
 * order. With one index and fewer members to leave out than it holds, the store counts directly
 * and subtracts what is left out, and the page is read from the cursor on, skipping those; so a
 * query costs about one page whatever the size of the index. Otherwise the smallest index is
 * scanned in chunks and each member looked up in the others, so the cost follows the most
 * selective filter.
 */
export const pageOfMembers = async (views: ViewReads, query: IndexQuery): Promise<MemberPage> => {
  const { indexes, excluded = [], min, max, rev, after, first } = query;
  const sizes = await views.counts([...indexes, ...excluded].map((key) => ({ key, min, max })));
  const included = sizes.slice(0, indexes.length);
  if (included.some((size) => size === 0)) return { members: [], total: 0, more: false };
  const present = excluded.filter((_, i) => sizes[indexes.length + i] > 0);
  const leftOut = sizes.slice(indexes.length).reduce((sum, size) => sum + size, 0);
  const [start, end] = after === undefined ? [min, max] : rev ? [min, below(max, after)] : [above(min, after), max];

  if (indexes.length === 1 && leftOut < included[0]) {
    // Each member left out is counted once: in the first excluded index that holds it.
    let excludedHere = 0;
    for (let i = 0; i < present.length; i++) {
      await scan(views, present[i], { min, max, rev }, SCAN_CHUNK, async (chunk) => {
        excludedHere += (await kept(views, chunk, indexes, present.slice(0, i))).length;
        return true;
      });
    }
    const page: string[] = [];
    // At most leftOut members are skipped, so the first chunk usually fills the page.
    await scan(views, indexes[0], { min: start, max: end, rev }, Math.min(SCAN_CHUNK, first + 1 + leftOut), async (chunk) => {
      page.push(...(await kept(views, chunk, [], present)));
      return page.length <= first;
    });
    return { members: page.slice(0, first), total: included[0] - excludedHere, more: page.length > first };
  }

  const smallest = included.indexOf(Math.min(...included));
  const others = indexes.filter((_, i) => i !== smallest);
  const page: string[] = [];
  let total = 0;
  await scan(views, indexes[smallest], { min, max, rev }, SCAN_CHUNK, async (chunk) => {
    const matching = await kept(views, chunk, others, present);
    total += matching.length;
    for (const member of matching) {
      const pastCursor = after === undefined || (rev ? member < after : member > after);
      if (pastCursor && page.length <= first) page.push(member);
    }
    return true;
  });
  return { members: page.slice(0, first), total, more: page.length > first };
};

export interface UnionQuery extends IndexQuery {
  /** Members must be in one of these, which share no member... */
  readonly indexes: readonly string[];
  /** ...and in none of these, which share no member either and hold only members of the first. */
  readonly excluded?: readonly string[];
}

/**
 * One page of the members of several indexes that share none, less the excluded ones, in order.
 * The total is the indexes' counts less the excluded ones'. Each index is read from the cursor on,
 * a page at a time, and what was read is merged up to the nearest last member read of an index
 * that may hold more: no member of any index can come before those.
 */
export const pageOfUnion = async (views: ViewReads, query: UnionQuery): Promise<MemberPage> => {
  const { indexes, excluded = [], min, max, rev, after, first } = query;
  const sizes = await views.counts([...indexes, ...excluded].map((key) => ({ key, min, max })));
  const sum = (counts: number[]): number => counts.reduce((total, count) => total + count, 0);
  const total = sum(sizes.slice(0, indexes.length)) - sum(sizes.slice(indexes.length));
  const present = excluded.filter((_, i) => sizes[indexes.length + i] > 0);
  const [start, end] = after === undefined ? [min, max] : rev ? [min, below(max, after)] : [above(min, after), max];
  const chunkSize = Math.min(SCAN_CHUNK, first + 1);
  const before = (a: string, b: string): boolean => (rev ? a > b : a < b);
  // Per index with members in the range: those read and not merged yet, where to read on, and
  // whether it may hold more.
  const sources = indexes
    .filter((_, i) => sizes[i] > 0)
    .map((key) => ({ key, ahead: [] as string[], from: rev ? end : start, more: true }));
  const read = async (source: (typeof sources)[number]): Promise<void> => {
    const range = rev ? { min: start, max: source.from } : { min: source.from, max: end };
    source.ahead = await views.range(source.key, { ...range, rev, count: chunkSize });
    source.more = source.ahead.length === chunkSize;
    if (source.more) source.from = `(${source.ahead[chunkSize - 1]}`;
  };
  const page: string[] = [];
  while (page.length <= first) {
    await Promise.all(sources.filter((s) => s.more && s.ahead.length === 0).map(read));
    let limit: string | undefined;
    for (const { ahead, more } of sources) {
      const last = ahead[ahead.length - 1];
      if (more && (limit === undefined || before(last, limit))) limit = last;
    }
    const merged: string[] = [];
    for (const source of sources) {
      let taken = 0;
      while (taken < source.ahead.length && (limit === undefined || !before(limit, source.ahead[taken]))) taken++;
      merged.push(...source.ahead.splice(0, taken));
    }
    if (merged.length === 0) break;
    merged.sort((a, b) => (before(a, b) ? -1 : 1));
    page.push(...(await kept(views, merged, [], present)));
  }
  return { members: page.slice(0, first), total, more: page.length > first };
};
