import { AuditEntry, AuditOutcome } from '../../application/ports/read-models';
import { ViewOp } from '../../application/ports/view-store';
import { ProjectedEvent, Projection } from '../projection';

// Keys. Every index holds the same members, `<ISO time>|<position>`, so members sort by time then
// position and indexes can be intersected; entries are kept by position.
export const ENTRIES = 'audit:entries';
export const ALL_ENTRIES = 'audit:all';
export const byTarget = (target: string): string => `audit:target:${target}`;
export const byActor = (actorId: string): string => `audit:actor:${actorId}`;
export const byAction = (action: string): string => `audit:action:${action}`;
export const byOutcome = (outcome: AuditOutcome): string => `audit:outcome:${outcome}`;
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

export const memberOf = (at: string, position: number): string => `${at}|${String(position).padStart(POSITION_DIGITS, '0')}`;
export const positionOf = (member: string): number => Number(member.slice(member.indexOf('|') + 1));

/**
 * An entry as kept in the entries hash, under its position: a JSON array in this order, a third
 * smaller than the object, which adds up over a whole log.
 */
const STORED = [
  'eventId',
  'streamId',
  'revision',
  'action',
  'target',
  'actorId',
  'actorRole',
  'outcome',
  'reason',
  'at',
  'commandId',
  'correlationId',
] as const;

const storedEntry = (entry: AuditEntry): string => JSON.stringify(STORED.map((field) => entry[field]));

export const entryFrom = (position: number, stored: string): AuditEntry => {
  const values = JSON.parse(stored) as unknown[];
  return Object.fromEntries([['position', position], ...STORED.map((field, i) => [field, values[i]])]) as AuditEntry;
};

/** `device-UKEY-0001` -> `device:UKEY-0001`: the stream's aggregate and id. */
export const targetOf = (streamId: string): string => {
  const dash = streamId.indexOf('-');
  return dash < 0 ? streamId : `${streamId.slice(0, dash)}:${streamId.slice(dash + 1)}`;
};

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

/** Refusals and failures that are events; everything else, known or not, succeeded. */
const judge = ({ event, recorded }: ProjectedEvent): { outcome: AuditOutcome; reason: string | null } => {
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
  }
  // Written by the access layer; read field by field, since this build holds no codec for it.
  if (recorded.type === 'AccessDenied') {
    const data = (recorded.data ?? {}) as Record<string, unknown>;
    const target = text(data.target);
    const what = `${text(data.reason) ?? 'DENIED'}: ${text(data.operation) ?? 'unknown operation'}`;
    return { outcome: 'REFUSED', reason: target ? `${what} on ${target}` : what };
  }
  return { outcome: 'SUCCESS', reason: null };
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
  };
};

/**
 * One entry per event in the log, whatever its type. Every operation adds to an index or a
 * counter or sets an entry, and none reads, so a batch's operations are grouped per key.
 */
export const auditProjection: Projection = {
  name: 'audit',
  project: (events) => {
    if (events.length === 0) return [];
    const entries: Record<string, string> = {};
    // Each event's member is new to every index; lists of actors, actions and buckets repeat.
    const indexes = new Map<string, string[]>();
    const lists = new Map<string, Set<string>>();
    const counters = new Map<string, Record<string, number>>();
    const index = (key: string, member: string): void => {
      const members = indexes.get(key);
      if (members) members.push(member);
      else indexes.set(key, [member]);
    };
    const list = (key: string, member: string): void => {
      const members = lists.get(key);
      if (members) members.add(member);
      else lists.set(key, new Set([member]));
    };
    const count = (key: string, action: string): void => {
      const counts = counters.get(key);
      if (counts) counts[action] = (counts[action] ?? 0) + 1;
      else counters.set(key, { [action]: 1 });
    };
    for (const e of events) {
      const entry = auditEntryOf(e);
      const member = memberOf(entry.at, entry.position);
      entries[String(entry.position)] = storedEntry(entry);
      index(ALL_ENTRIES, member);
      index(byTarget(entry.target), member);
      index(byActor(entry.actorId), member);
      index(byAction(entry.action), member);
      index(byOutcome(entry.outcome), member);
      list(ACTORS, entry.actorId);
      const hour = entry.at.slice(0, granularities.hour.length);
      const day = entry.at.slice(0, granularities.day.length);
      list(granularities.hour.list, hour);
      list(granularities.day.list, day);
      count(granularities.hour.bucket(hour), entry.action);
      count(granularities.day.bucket(day), entry.action);
      if (entry.outcome !== 'SUCCESS') {
        index(failuresOf(entry.action), member);
        list(FAILED_ACTIONS, entry.action);
      }
    }
    return [
      { kind: 'set', key: ENTRIES, fields: entries },
      ...[...indexes].map(([key, members]): ViewOp => ({ kind: 'index', key, members })),
      ...[...lists].map(([key, members]): ViewOp => ({ kind: 'index', key, members: [...members] })),
      ...[...counters].map(([key, by]): ViewOp => ({ kind: 'incr', key, by })),
    ];
  },
};
