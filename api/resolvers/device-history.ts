import * as E from 'fp-ts/Either';
import { decodeAll } from '../../application/event-decoding';
import { RecordedEvent } from '../../application/ports/event-store';
import { deviceAggregate, DeviceEvent } from '../../domain/device';
import { fold, streamOf } from '../../domain/shared/aggregate';
import { ApiDeps } from '../context';
import { fromStore } from '../errors';
import { logPosition } from './queries';

export interface AsOf {
  readonly time?: string | null;
  readonly position?: number | null;
}

/** Whether an event happened after the point asked for; a stream's events are in time and position order. */
const after =
  ({ time, position }: AsOf) =>
  (event: RecordedEvent): boolean =>
    (position != null && event.position > position) ||
    (time != null && Date.parse(event.metadata.occurredAt) > Date.parse(time));

/**
 * The device as its own stream had it at a time or log position: the events up to that point,
 * replayed through the aggregate's evolve, so the answer depends on the log alone and not on a view.
 */
export const deviceHistory = async (deps: ApiDeps, serial: string, asOf: AsOf = {}) => {
  if (asOf.position != null) logPosition('asOf.position', asOf.position);
  const recorded = await fromStore(() => deps.store.readStream(streamOf(deviceAggregate, serial)));
  if (recorded.length === 0) return null;
  const cut = recorded.findIndex(after(asOf));
  const replayed = cut < 0 ? recorded : recorded.slice(0, cut);
  const events = decodeAll<DeviceEvent>(deviceAggregate.eventCodecs, replayed);
  // An event this build cannot read is a fault of the stored log, not of the request.
  if (E.isLeft(events)) throw new Error(events.left.message);
  const state = fold(deviceAggregate.evolve, deviceAggregate.initialState, events.right);
  return {
    serial,
    revision: replayed.length - 1,
    state: state.status === 'NONE' ? null : state,
    events: replayed.map((r, i) => ({
      type: r.type,
      data: events.right[i].data,
      position: r.position,
      revision: r.revision,
      at: r.metadata.occurredAt,
      actorId: r.metadata.actorId,
      actorRole: r.metadata.actorRole,
      commandId: r.metadata.commandId,
    })),
  };
};
