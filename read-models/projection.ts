import * as E from 'fp-ts/Either';
import { decodeRecorded } from '../application/event-decoding';
import { RecordedEvent } from '../application/ports/event-store';
import { ViewOp } from '../application/ports/view-store';
import { ChargeEvent, chargeEventCodecs } from '../domain/charge';
import { ChargerEvent } from '../domain/charger';
import { chargerEventCodecs } from '../domain/charger/events';
import { DeviceEvent } from '../domain/device';
import { deviceEventCodecs } from '../domain/device/events';
import { KeyPoolEvent, keyPoolEventCodecs } from '../domain/keypool';
import { SaeKeysEvent, saeKeysEventCodecs } from '../domain/saekeys';
import { MessageCodecs } from '../domain/shared/codec';
import { coalesce } from './coalesce';

export type KnownEvent = DeviceEvent | ChargerEvent | KeyPoolEvent | ChargeEvent | SaeKeysEvent;

/** A stored event as projections see it. */
export interface ProjectedEvent {
  readonly recorded: RecordedEvent;
  /** Decoded; undefined for a type this build does not know (the audit still records it). */
  readonly event: KnownEvent | undefined;
  /** metadata.occurredAt as a canonical ISO time (24 characters), so times sort as text. */
  readonly at: string;
}

/**
 * A read model's write side: a pure function from consecutive events of the log to the view
 * operations they cause, applied in order. Most projections map each event on its own (eachEvent);
 * one may group a batch's operations itself when that saves work, as long as a batch gives the
 * same views as its events one by one. Either way a batch's operations come grouped (coalesced):
 * a replay of a thousand events then writes each key a few times, not once per event.
 */
export interface Projection {
  /** Names the projection's checkpoint. */
  readonly name: string;
  /** [] when no event concerns this projection. */
  readonly project: (events: readonly ProjectedEvent[]) => readonly ViewOp[];
}

/** The operations of events that each map to their own, in order. */
export const opsOfEach = (
  events: readonly ProjectedEvent[],
  project: (event: ProjectedEvent) => readonly ViewOp[],
): ViewOp[] => {
  const ops: ViewOp[] = [];
  for (const e of events) for (const op of project(e)) ops.push(op);
  return ops;
};

/** A projection whose every event maps to its own operations, coalesced per batch. */
export const eachEvent = (name: string, project: (event: ProjectedEvent) => readonly ViewOp[]): Projection => ({
  name,
  project: (events) => coalesce(opsOfEach(events, project)),
});

/** What an event that does not concern a projection maps to; shared, since most events concern few. */
export const NO_OPS: readonly ViewOp[] = [];

const knownCodecs: MessageCodecs = {
  ...deviceEventCodecs,
  ...chargerEventCodecs,
  ...keyPoolEventCodecs,
  ...chargeEventCodecs,
  ...saeKeysEventCodecs,
};

/** A stored event the projections cannot read; they stop there rather than build views that are wrong. */
export class ProjectionError extends Error {
  readonly code = 'MALFORMED_EVENT';
  constructor(message: string) {
    super(message);
    this.name = 'ProjectionError';
  }
}

/**
 * Already canonical: a day every month has, and every other field in range. Times are written in
 * this form, so most skip the parse below; days 29 to 31, which depend on the month, go through it.
 */
const CANONICAL = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** The canonical ISO form of a time, or undefined when it is no time of years 0000 to 9999. */
export const canonicalTime = (value: unknown): string | undefined => {
  if (typeof value !== 'string') return undefined;
  if (CANONICAL.test(value)) return value;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) return undefined;
  const iso = time.toISOString();
  return iso.length === 24 ? iso : undefined;
};

// Made by constructors, not object literals: once a collection finds all of a literal's recent
// objects alive, as it finds a batch's events while the batch is projected, V8 may allocate that
// literal's objects in the old generation from then on. Events dead there would keep what they
// refer to alive until the next full collection, and every young collection would copy it.
class Projected implements ProjectedEvent {
  constructor(
    readonly recorded: RecordedEvent,
    readonly event: KnownEvent | undefined,
    readonly at: string,
  ) {}
}

class Message {
  constructor(
    readonly type: string,
    readonly data: unknown,
  ) {}
}

export const toProjected = (recorded: RecordedEvent): ProjectedEvent => {
  const at = canonicalTime(recorded.metadata?.occurredAt);
  if (at === undefined) {
    throw new ProjectionError(
      `event ${recorded.streamId}@${recorded.revision} (position ${recorded.position}) has no valid ` +
        'metadata.occurredAt; repair the stream',
    );
  }
  if (!Object.prototype.hasOwnProperty.call(knownCodecs, recorded.type)) return new Projected(recorded, undefined, at);
  // The event codecs decode to what they check (no field is converted), so a message they accept
  // is the event as it is: checking it spares the copy a decode makes, which adds up over a
  // replay. Projections read only the fields the codecs name. A rejected one is decoded, for the
  // message that says what is wrong where.
  const event = new Message(recorded.type, recorded.data);
  if (knownCodecs[recorded.type].is(event)) return new Projected(recorded, event as KnownEvent, at);
  const decoded = decodeRecorded<KnownEvent>(knownCodecs, recorded);
  if (E.isLeft(decoded)) throw new ProjectionError(decoded.left.message);
  return new Projected(recorded, decoded.right, at);
};
