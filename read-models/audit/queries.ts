import {
  AuditEntry,
  AuditFilter,
  AuditOutcome,
  AuditStats,
  CountBucket,
  Page,
  PageRequest,
} from '../../application/ports/read-models';
import { LexBound, ViewReads } from '../../application/ports/view-store';
import { invalidQuery } from '../errors';
import { decodeCursor, encodeCursor, pageOfMembers, pageOfUnion, pageSize } from '../paging';
import { canonicalTime } from '../projection';
import {
  ACTIONS,
  ACTORS,
  byAction,
  byActor,
  byOutcome,
  byTarget,
  filterTarget,
  ENTRIES,
  entryBlock,
  entryFrom,
  FAILED_ACTIONS,
  FAILURE_OUTCOMES,
  failuresOf,
  granularities,
  positionOf,
  rowsOf,
} from './projection';

const OUTCOMES: readonly AuditOutcome[] = ['SUCCESS', 'REFUSED', 'FAILED'];
const LIST = 'audit';
const MAX_TOP = 100;

interface TimeRange {
  readonly from?: string;
  readonly to?: string;
  readonly min: LexBound;
  readonly max: LexBound;
}

const timeOf = (field: 'from' | 'to', value: string | undefined): string | undefined => {
  if (value === undefined) return undefined;
  const time = canonicalTime(value);
  if (time === undefined) throw invalidQuery(field, 'must be an ISO-8601 time such as 2026-01-31T08:00:00Z');
  return time;
};

/** Members are `<time>|<position>`: `[from` takes every member at or after from, `(to` every member before to. */
const timeRange = (filter: Pick<AuditFilter, 'from' | 'to'>): TimeRange => {
  const from = timeOf('from', filter.from);
  const to = timeOf('to', filter.to);
  return { from, to, min: from === undefined ? '-' : `[${from}`, max: to === undefined ? '+' : `(${to}` };
};

const all = { min: '-', max: '+' } as const;

/** The entries of index members, in their order; a member whose entry is missing has none. */
const entriesOf = async (views: ViewReads, members: readonly string[]): Promise<AuditEntry[]> => {
  const positions = members.map(positionOf);
  const blocks = [...new Set(positions.map(entryBlock))];
  const stored = await views.fields(ENTRIES, blocks);
  const rows = new Map(blocks.map((block, i) => [block, rowsOf(stored[i] ?? '')]));
  return members.flatMap((member, i) => {
    const row = rows.get(entryBlock(positions[i]))?.get(positions[i]);
    return row === undefined ? [] : [entryFrom(member, row)];
  });
};

/** Entries matching every given filter, newest first. */
export const audit = async (views: ViewReads, filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntry>> => {
  if (filter.outcome !== undefined && !OUTCOMES.includes(filter.outcome)) {
    throw invalidQuery('outcome', `must be one of ${OUTCOMES.join(', ')}`);
  }
  const first = pageSize(page);
  const { min, max } = timeRange(filter);
  const { outcome } = filter;
  const indexes = [
    filter.target !== undefined && byTarget(filterTarget(filter.target)),
    filter.actorId !== undefined && byActor(filter.actorId),
    filter.action !== undefined && byAction(filter.action),
    outcome !== undefined && outcome !== 'SUCCESS' && byOutcome(outcome),
  ].filter((key): key is string => typeof key === 'string');
  const query = {
    excluded: outcome === 'SUCCESS' ? FAILURE_OUTCOMES.map(byOutcome) : [],
    min,
    max,
    rev: true,
    after: decodeCursor(LIST, page.after),
    first,
  };
  // Every entry is in exactly one action index and has at most one failure outcome.
  const found =
    indexes.length > 0
      ? await pageOfMembers(views, { indexes, ...query })
      : await pageOfUnion(views, { indexes: (await views.range(ACTIONS, all)).map(byAction), ...query });
  return {
    items: await entriesOf(views, found.members),
    total: found.total,
    endCursor: found.more ? encodeCursor(LIST, found.members[found.members.length - 1]) : null,
  };
};

const byCountThenName = <T>(name: (item: T) => string, count: (item: T) => number) => (a: T, b: T) =>
  count(b) - count(a) || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);

/**
 * Counts per action per bucket of entries in the range. Buckets wholly inside it are read from
 * their counters; the one or two it cuts are counted exactly from the action indexes.
 */
const perBucket = async (
  views: ViewReads,
  granularity: (typeof granularities)[keyof typeof granularities],
  range: TimeRange,
): Promise<CountBucket[]> => {
  const { from, to } = range;
  const keys = await views.range(granularity.list, {
    min: from === undefined ? '-' : `[${from.slice(0, granularity.length)}`,
    max: range.max,
  });
  const counters = await views.hashes(keys.map(granularity.bucket));
  const counted: CountBucket[] = [];
  const cut: { bucket: string; action: string; min: LexBound; max: LexBound }[] = [];
  keys.forEach((key, i) => {
    const start = key + granularity.suffix;
    const end = new Date(Date.parse(start) + granularity.ms).toISOString();
    const inside = (from === undefined || from <= start) && (to === undefined || end <= to);
    for (const [action, count] of Object.entries(counters[i] ?? {})) {
      if (inside) counted.push({ bucket: start, action, count: Number(count) });
      else {
        const min: LexBound = `[${from !== undefined && from > start ? from : start}`;
        const max: LexBound = `(${to !== undefined && to < end ? to : end}`;
        cut.push({ bucket: start, action, min, max });
      }
    }
  });
  const cutCounts = await views.counts(cut.map((c) => ({ key: byAction(c.action), min: c.min, max: c.max })));
  cut.forEach((c, i) => {
    if (cutCounts[i] > 0) counted.push({ bucket: c.bucket, action: c.action, count: cutCounts[i] });
  });
  return counted.sort((a, b) => (a.bucket < b.bucket ? -1 : a.bucket > b.bucket ? 1 : a.action < b.action ? -1 : 1));
};

/** Exact statistics of the entries in [from, to); failures are the REFUSED and FAILED ones. */
export const auditStats = async (
  views: ViewReads,
  filter: Pick<AuditFilter, 'from' | 'to'>,
  top = 10,
): Promise<AuditStats> => {
  if (!Number.isSafeInteger(top) || top < 1 || top > MAX_TOP) {
    throw invalidQuery('top', `must be a whole number from 1 to ${MAX_TOP}`);
  }
  const range = timeRange(filter);
  const { min, max } = range;
  const [failedActions, actors] = await Promise.all([views.range(FAILED_ACTIONS, all), views.range(ACTORS, all)]);
  const [refused, failed, ...counts] = await views.counts([
    { key: byOutcome('REFUSED'), min, max },
    { key: byOutcome('FAILED'), min, max },
    ...failedActions.map((action) => ({ key: failuresOf(action), min, max })),
    ...actors.map((actorId) => ({ key: byActor(actorId), min, max })),
  ]);
  const failuresByAction = failedActions
    .map((action, i) => ({ action, count: counts[i] }))
    .filter((f) => f.count > 0)
    .sort(byCountThenName((f) => f.action, (f) => f.count));
  const topActors = actors
    .map((actorId, i) => ({ actorId, count: counts[failedActions.length + i] }))
    .filter((a) => a.count > 0)
    .sort(byCountThenName((a) => a.actorId, (a) => a.count))
    .slice(0, top);
  const [perHour, perDay] = await Promise.all([
    perBucket(views, granularities.hour, range),
    perBucket(views, granularities.day, range),
  ]);
  // Each entry is counted in exactly one hour.
  const total = perHour.reduce((sum, bucket) => sum + bucket.count, 0);
  return { perHour, perDay, total, failures: refused + failed, failuresByAction, topActors };
};
