import { AuditEntry, AuditOutcome } from '../../application/ports/read-models';
import { RecordedEvent } from '../../application/ports/event-store';
import { ViewOp } from '../../application/ports/view-store';
import { governedAggregates } from '../../application/access/policy';
import { ACCESS_STREAM_PREFIX } from '../../domain/access';
import { invalidQuery } from '../errors';
import { ProjectedEvent, Projection } from '../projection';

// Keys. Every index holds the same members, `<ISO time>|<position>`, so members sort by time then
// position and indexes can be intersected. Entries are kept in blocks of consecutive positions (see
// entryBlock). Every entry is in the index of its action, so together these hold all entries, and
// no index of all entries is kept: that spares an index write per event. Only the failure
// outcomes have an index: a success is an entry in neither.
export const ENTRIES = 'audit:entries';
/** Every action with entries: the action indexes to read for all entries. */
export const ACTIONS = 'audit:actions';
export const byTarget = (target: string): string => `audit:target:${target}`;
export const byActor = (actorId: string): string => `audit:actor:${actorId}`;
export const byAction = (action: string): string => `audit:action:${action}`;
export type FailureOutcome = Exclude<AuditOutcome, 'SUCCESS'>;
export const FAILURE_OUTCOMES: readonly FailureOutcome[] = ['REFUSED', 'FAILED'];
export const byOutcome = (outcome: FailureOutcome): string => `audit:outcome:${outcome}`;
/** Refused or failed entries of one action. */
export const failuresOf = (action: string): string => `audit:failed:${action}`;
export const FAILED_ACTIONS = 'audit:failed-actions';
export const ACTORS = 'audit:actors';
/** Per granularity: the list of buckets that have entries, and per bucket a count per action. */
export const granularities = {
  hour: { list: 'audit:hours', bucket: (key: string) => `audit:hour:${key}`, length: 13, suffix: ':00:00.000Z', ms: 3_600_000 },
  day: { list: 'audit:days', bucket: (key: string) => `audit:day:${key}`, length: 10, suffix: 'T00:00:00.000Z', ms: 86_400_000 },
} as const;

const POSITION_DIGITS = 16;
/** Per number of digits, what comes between a member's time and its position's digits. */
const SEPARATORS = Array.from({ length: POSITION_DIGITS + 1 }, (_, digits) => `|${'0'.repeat(POSITION_DIGITS - digits)}`);

export const memberOf = (at: string, position: number): string => {
  const digits = String(position);
  return at + SEPARATORS[digits.length] + digits;
};
export const positionOf = (member: string): number => Number(member.slice(member.indexOf('|') + 1));
const timeOf = (member: string): string => member.slice(0, member.indexOf('|'));

/**
 * Positions per field of the entries hash. A field holds the JSON rows of its positions' entries
 * in position order, each followed by a comma, whatever batches wrote them. A batch appends a
 * handful of fields instead of setting one per event, which spares Redis a hash field and two
 * strings per event, and writes each field's rows with one JSON.stringify call instead of one per
 * event; a page of entries still reads a few fields.
 */
const ENTRY_BLOCK = 16;
export const entryBlock = (position: number): string => String(Math.floor(position / ENTRY_BLOCK));

/**
 * An entry's row: its position, then the fields that its index member (time) and stream id
 * (target) do not already give. The outcome, reason and correlation id end the row only when one
 * of them is not the usual SUCCESS, no reason and the command id, as they are for nearly every
 * entry. Each byte counts once per event of the whole log, in memory and on every replay.
 */
type EntryRow = readonly [
  position: number,
  eventId: string,
  streamId: string,
  revision: number,
  action: string,
  actorId: string,
  actorRole: string,
  commandId: string,
  outcome?: AuditOutcome,
  reason?: string | null,
  correlationId?: string,
  concerns?: readonly string[],
];

const entryRow = (recorded: RecordedEvent, { outcome, reason }: Judged, concerns: readonly string[]): EntryRow => {
  const { position, id, streamId, revision, type, metadata } = recorded;
  const { actorId, actorRole, commandId, correlationId } = metadata;
  const row = [position, id, streamId, revision, type, actorId, actorRole, commandId] as const;
  if (concerns.length > 0) return [...row, outcome, reason, correlationId, concerns];
  if (correlationId !== commandId) return [...row, outcome, reason, correlationId];
  return outcome === 'SUCCESS' && reason === null ? row : [...row, outcome, reason];
};

/** The rows of a field of the entries hash, by position. */
export const rowsOf = (field: string): Map<number, EntryRow> =>
  new Map((JSON.parse(`[${field.slice(0, -1)}]`) as EntryRow[]).map((row) => [row[0], row]));

/** The entry of the index member `member`, from its row. */
export const entryFrom = (member: string, row: EntryRow): AuditEntry => {
  const [position, eventId, streamId, revision, action, actorId, actorRole, commandId, outcome, reason, correlationId, concerns] = row;
  return {
    position,
    eventId,
    streamId,
    revision,
    action,
    target: targetOf(streamId),
    actorId,
    actorRole,
    outcome: outcome ?? 'SUCCESS',
    reason: reason ?? null,
    at: timeOf(member),
    commandId,
    correlationId: correlationId ?? commandId,
    concerns: concerns ?? [],
  };
};

/** `device-UKEY-0001` -> `device:UKEY-0001`: the stream's aggregate and id. */
export const targetOf = (streamId: string): string => {
  const dash = streamId.indexOf('-');
  return dash < 0 ? streamId : `${streamId.slice(0, dash)}:${streamId.slice(dash + 1)}`;
};

/** `device:UKEY-0001` -> `device-UKEY-0001`, the inverse of targetOf. */
const streamOfTarget = (target: string): string => target.replace(':', '-');

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

const STREAM_PREFIXES = new Set(governedAggregates.map((aggregate) => aggregate.streamPrefix));

/** Every kind of target: each stream's aggregate, and the streams refused requests are recorded on. */
const TARGET_KINDS = [...STREAM_PREFIXES, ACCESS_STREAM_PREFIX];

/**
 * A target as a filter may name it: `device:UKEY-0001`, or the stream id a receipt gives,
 * `device-UKEY-0001`. Anything else names no entry's target, so it is refused rather than answered
 * with nothing.
 */
export const filterTarget = (value: string): string => {
  const separator = /[:-]/.exec(value);
  const kind = separator === null ? '' : value.slice(0, separator.index);
  if (TARGET_KINDS.includes(kind)) return `${kind}:${value.slice(kind.length + 1)}`;
  throw invalidQuery(
    'target',
    'must name a target as kind:id, such as device:UKEY-2026-0001, or as its stream id, such as device-UKEY-2026-0001; ' +
      `the kinds are ${TARGET_KINDS.join(', ')}`,
  );
};

/** A refused request records the stream it asked for; other text (an id alone) names no target. */
const requestedTarget = (value: unknown): string | undefined => {
  const asked = text(value);
  if (asked === undefined) return undefined;
  const dash = asked.indexOf('-');
  return dash > 0 && STREAM_PREFIXES.has(asked.slice(0, dash)) ? targetOf(asked) : undefined;
};

/**
 * The targets an event names besides its stream's: the device and the charger of a charge, the
 * device a key range went to, the charger a device authenticated at, what a refused request asked
 * for. The entry is indexed under each, so a device's audit shows its failed charges and the
 * requests refused on it, not only the events of its own stream.
 */
const concernsOf = (recorded: RecordedEvent): readonly string[] => {
  const data = recorded.data as Readonly<Record<string, unknown>> | null;
  if (typeof data !== 'object' || data === null) return [];
  const serial = text(data.deviceSerial);
  const charger = text(data.chargerId);
  const asked = recorded.type === 'AccessDenied' ? requestedTarget(data.target) : undefined;
  if (serial === undefined && charger === undefined && asked === undefined) return [];
  const own = targetOf(recorded.streamId);
  const named = [serial && `device:${serial}`, charger && `charger:${charger}`, asked];
  return named.filter((target): target is string => target !== undefined && target !== own);
};

interface Judged {
  readonly outcome: AuditOutcome;
  readonly reason: string | null;
}

const SUCCESS: Judged = { outcome: 'SUCCESS', reason: null };

/** Refusals and failures that are events; everything else, known or not, succeeded. */
const judge = ({ event, recorded }: ProjectedEvent): Judged => {
  switch (event?.type) {
    case 'DeviceAuthenticationFailed': {
      const { reason, chargerId, consecutiveFailures } = event.data;
      return { outcome: 'REFUSED', reason: `${reason} at charger ${chargerId} (${consecutiveFailures} failures in a row)` };
    }
    case 'DevicePinLocked':
      return { outcome: 'REFUSED', reason: `PIN locked after ${event.data.failures} failed attempts` };
    case 'ChargerAttestationFailed':
      return {
        outcome: 'REFUSED',
        reason: `boot measurements differ from the golden values: ${event.data.mismatched.join(', ')}`,
      };
    case 'ChargeFailed':
      return { outcome: 'FAILED', reason: event.data.reason };
    case 'SaeKeyRequestRefused': {
      const { status, operation, callerSaeId, reason } = event.data;
      return { outcome: 'REFUSED', reason: `${status} ${operation} by SAE ${callerSaeId}: ${reason}` };
    }
    case 'KeyBlockDiscarded':
      return { outcome: 'FAILED', reason: `block ${event.data.blockId} discarded: ${event.data.reason}` };
  }
  // Written by the access layer; read field by field, since this build holds no codec for it.
  if (recorded.type === 'AccessDenied') {
    const data = (recorded.data ?? {}) as Record<string, unknown>;
    const target = requestedTarget(data.target) ?? text(data.target);
    const what = `${text(data.reason) ?? 'DENIED'}: ${text(data.operation) ?? 'unknown operation'}`;
    return { outcome: 'REFUSED', reason: target ? `${what} on ${target}` : what };
  }
  return SUCCESS;
};

export const auditEntryOf = (e: ProjectedEvent): AuditEntry => {
  const { recorded, at } = e;
  const { metadata } = recorded;
  return {
    position: recorded.position,
    eventId: recorded.id,
    streamId: recorded.streamId,
    revision: recorded.revision,
    action: recorded.type,
    target: targetOf(recorded.streamId),
    actorId: metadata.actorId,
    actorRole: metadata.actorRole,
    ...judge(e),
    at,
    commandId: metadata.commandId,
    correlationId: metadata.correlationId,
    concerns: concernsOf(recorded),
  };
};

/** Members of a batch grouped by a value of theirs (target, actor, ...), in log order. */
class Groups {
  private readonly groups = new Map<string, string[]>();

  add(value: string, member: string): void {
    const members = this.groups.get(value);
    if (members === undefined) this.groups.set(value, [member]);
    else members.push(member);
  }

  values(): string[] {
    return [...this.groups.keys()];
  }

  indexes(key: (value: string) => string, out: ViewOp[]): void {
    for (const [value, members] of this.groups) out.push({ kind: 'index', key: key(value), members });
  }
}

/** Per time bucket, how many entries of each action; events mostly arrive in order, so the last bucket is kept at hand. */
class BucketCounts {
  private readonly buckets = new Map<string, Map<string, number>>();
  private lastBucket = '';
  private last?: Map<string, number>;

  constructor(private readonly length: number) {}

  count(at: string, action: string): void {
    if (this.last === undefined || !at.startsWith(this.lastBucket)) {
      this.lastBucket = at.slice(0, this.length);
      this.last = this.buckets.get(this.lastBucket);
      if (this.last === undefined) this.buckets.set(this.lastBucket, (this.last = new Map()));
    }
    this.last.set(action, (this.last.get(action) ?? 0) + 1);
  }

  ops(granularity: (typeof granularities)[keyof typeof granularities], out: ViewOp[]): void {
    out.push({ kind: 'index', key: granularity.list, members: [...this.buckets.keys()] });
    for (const [bucket, counts] of this.buckets) {
      out.push({ kind: 'incr', key: granularity.bucket(bucket), by: Object.fromEntries(counts) });
    }
  }
}

/**
 * One entry per event in the log, whatever its type. Every operation adds to an index or a
 * counter or appends entries, and none reads, so a batch's operations are grouped per key here:
 * each index and counter gets one operation per batch.
 */
export const auditProjection: Projection = {
  name: 'audit',
  project: (events) => {
    if (events.length === 0) return [];
    const blocks: Record<string, string> = {};
    // Positions rise through a batch, so a field's rows are gathered in one run.
    let block = '';
    let rows: EntryRow[] = [];
    const flush = (): void => {
      if (rows.length > 0) blocks[block] = `${blocks[block] ?? ''}${JSON.stringify(rows).slice(1, -1)},`;
    };
    const [streams, actors, actions] = [new Groups(), new Groups(), new Groups()];
    const [outcomes, failures] = [new Groups(), new Groups()];
    const [hours, days] = [new BucketCounts(granularities.hour.length), new BucketCounts(granularities.day.length)];
    for (const e of events) {
      const { recorded, at } = e;
      const { position, type } = recorded;
      const judged = judge(e);
      const member = memberOf(at, position);
      const blockOfEntry = entryBlock(position);
      if (blockOfEntry !== block) {
        flush();
        block = blockOfEntry;
        rows = [];
      }
      const concerns = concernsOf(recorded);
      rows.push(entryRow(recorded, judged, concerns));
      // By stream: the target follows from it, once per stream in the batch. A target the entry
      // names joins its stream's group, so each target's index gets one write per batch.
      streams.add(recorded.streamId, member);
      for (const target of concerns) streams.add(streamOfTarget(target), member);
      actors.add(recorded.metadata.actorId, member);
      actions.add(type, member);
      hours.count(at, type);
      days.count(at, type);
      if (judged.outcome !== 'SUCCESS') {
        outcomes.add(judged.outcome, member);
        failures.add(type, member);
      }
    }
    flush();
    const ops: ViewOp[] = [
      { kind: 'append', key: ENTRIES, fields: blocks },
      { kind: 'index', key: ACTIONS, members: actions.values() },
      { kind: 'index', key: ACTORS, members: actors.values() },
    ];
    streams.indexes((streamId) => byTarget(targetOf(streamId)), ops);
    actors.indexes(byActor, ops);
    actions.indexes(byAction, ops);
    outcomes.indexes((outcome) => byOutcome(outcome as FailureOutcome), ops);
    failures.indexes(failuresOf, ops);
    const failed = failures.values();
    if (failed.length > 0) ops.push({ kind: 'index', key: FAILED_ACTIONS, members: failed });
    hours.ops(granularities.hour, ops);
    days.ops(granularities.day, ops);
    return ops;
  },
};
