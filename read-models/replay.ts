import { EventStore, RecordedEvent } from '../application/ports/event-store';
import { ProjectionWrite, ViewStore } from '../application/ports/view-store';
import { coalesce } from './coalesce';
import { ProjectedEvent, Projection, ProjectionError, toProjected } from './projection';
import { projectionNames } from './projections';

export const DEFAULT_BATCH_SIZE = 1000;

/** Each projection's checkpoint: the position of the last event it applied. */
export type Checkpoints = Readonly<Record<string, number>>;

export interface AppliedBatch {
  readonly events: readonly ProjectedEvent[];
  /** The checkpoints before the batch: each projection applied only the events above its own. */
  readonly before: Checkpoints;
  /** The checkpoints after it. */
  readonly after: Checkpoints;
}

export type BatchResult =
  | {
      readonly applied: true;
      readonly batch: AppliedBatch;
      /** An event the projections cannot read: the batch stopped before it; apply nothing after it. */
      readonly unreadable?: ProjectionError;
    }
  /** The stored checkpoints were not those the batch was built on; nothing was written. */
  | { readonly applied: false; readonly checkpoints: Checkpoints };

interface Prepared {
  readonly events: readonly ProjectedEvent[];
  readonly writes: readonly ProjectionWrite[];
  readonly after: Checkpoints;
  readonly unreadable?: ProjectionError;
}

/** Decodes events up to the first unreadable one. */
const decode = (recorded: readonly RecordedEvent[]): { events: ProjectedEvent[]; unreadable?: ProjectionError } => {
  const events: ProjectedEvent[] = [];
  for (const r of recorded) {
    try {
      events.push(toProjected(r));
    } catch (error) {
      if (!(error instanceof ProjectionError) || events.length === 0) throw error;
      return { events, unreadable: error };
    }
  }
  return { events };
};

/**
 * One write per projection for the events above its checkpoint (and at most its limit): what it
 * has seen is left out, so nothing counts twice.
 */
const prepare = (
  projections: readonly Projection[],
  recorded: readonly RecordedEvent[],
  checkpoints: Checkpoints,
  limits?: Checkpoints,
): Prepared => {
  const { events, unreadable } = decode(recorded);
  const after: Record<string, number> = { ...checkpoints };
  const writes: ProjectionWrite[] = [];
  for (const projection of projections) {
    const from = checkpoints[projection.name] ?? 0;
    const limit = limits?.[projection.name] ?? Infinity;
    const unseen = events.filter((e) => e.recorded.position > from && e.recorded.position <= limit);
    if (unseen.length > 0) {
      const to = unseen[unseen.length - 1].recorded.position;
      writes.push({ projection: projection.name, after: from, to, ops: coalesce(projection.project(unseen)) });
      after[projection.name] = to;
    }
  }
  return { events, writes, after, unreadable };
};

const applyPrepared = async (views: ViewStore, prepared: Prepared, before: Checkpoints): Promise<BatchResult> => {
  const result = prepared.writes.length === 0 ? { applied: true as const } : await views.apply(prepared.writes);
  if (!result.applied) return result;
  const batch = { events: prepared.events, before, after: prepared.after };
  return { applied: true, batch, unreadable: prepared.unreadable };
};

/** Projects consecutive events of the log and applies them, given the stored checkpoints, in one atomic write. */
export const applyRecorded = (
  views: ViewStore,
  projections: readonly Projection[],
  recorded: readonly RecordedEvent[],
  checkpoints: Checkpoints,
): Promise<BatchResult> => applyPrepared(views, prepare(projections, recorded, checkpoints), checkpoints);

/**
 * Drivers send on a later turn of the event loop (node-redis queues a write with setImmediate once
 * the command is built, itself a few promises later): two turns let the store work on a batch
 * while the next page is projected.
 */
const sendTurn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

export const lowest = (checkpoints: Checkpoints): number => Math.min(...Object.values(checkpoints));

export interface CatchUpOptions {
  readonly projections: readonly Projection[];
  readonly batchSize?: number;
  /** Positions per projection to stop at (checks rebuild exactly what the live views hold). */
  readonly limits?: Checkpoints;
  /** `atEnd`: this batch reached the end of the log (or of the limits). */
  readonly onApplied?: (batch: AppliedBatch, atEnd: boolean) => void;
  /** Checked before each page: true ends the catch-up early. */
  readonly stopped?: () => boolean;
}

/**
 * Reads the log in pages from the lowest stored checkpoint and applies each page as one batch,
 * until a page comes back short (the end of the log, or of the limits). While one batch is being
 * written, the next page is read and projected. Returns the checkpoints reached.
 */
export const catchUp = async (store: EventStore, views: ViewStore, options: CatchUpOptions): Promise<Checkpoints> => {
  const { projections, limits, onApplied, stopped } = options;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const end = limits === undefined ? Infinity : Math.max(0, ...Object.values(limits));
  const read = async (after: number) =>
    (await store.readAll({ after, maxCount: batchSize })).filter((e) => e.position <= end);

  let applied = await views.checkpoints(projectionNames(projections));
  let page = await read(lowest(applied));
  let writing: Promise<BatchResult | undefined> = Promise.resolve(undefined);
  // The checkpoints the next batch is built on: those the batch being written will leave.
  let planned = applied;
  let atEnd = page.length < batchSize;
  while (page.length > 0 && !stopped?.()) {
    const prepared = prepare(projections, page, planned, limits);
    const previous = await writing;
    if (previous?.applied === false) {
      // Someone else moved the views meanwhile: start again from where they now are.
      applied = planned = previous.checkpoints;
      page = await read(lowest(applied));
      atEnd = page.length < batchSize;
      writing = Promise.resolve(undefined);
      continue;
    }
    if (previous?.applied) applied = previous.batch.after;
    const builtOn = planned;
    const last = atEnd && prepared.unreadable === undefined;
    writing = applyPrepared(views, prepared, builtOn).then((result) => {
      if (result.applied) onApplied?.(result.batch, last);
      return result;
    });
    planned = prepared.after;
    await sendTurn();
    if (prepared.unreadable) {
      await writing;
      throw prepared.unreadable;
    }
    if (atEnd) break;
    page = await read(page[page.length - 1].position);
    atEnd = page.length < batchSize;
  }
  const final = await writing;
  if (final?.applied === false) return catchUp(store, views, options);
  return final?.applied ? final.batch.after : applied;
};
