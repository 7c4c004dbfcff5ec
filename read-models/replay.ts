import { EventStore, RecordedEvent } from '../application/ports/event-store';
import { ProjectionWrite, ViewStore } from '../application/ports/view-store';
import { dropOtherLayout, layoutMark } from './layout';
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

/** The events above `from` and at most `limit`; usually all of them, which need no copy. */
const within = (events: readonly ProjectedEvent[], from: number, limit: number): readonly ProjectedEvent[] => {
  const inside = (e: ProjectedEvent): boolean => e.recorded.position > from && e.recorded.position <= limit;
  return events.length === 0 || (inside(events[0]) && inside(events[events.length - 1])) ? events : events.filter(inside);
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
    const unseen = within(events, from, limit);
    if (unseen.length > 0) {
      const to = unseen[unseen.length - 1].recorded.position;
      const ops = projection.project(unseen);
      // The batch applies whole, so one of its writes carrying the mark marks every view it changes.
      writes.push({ projection: projection.name, after: from, to, ops: writes.length === 0 ? [layoutMark, ...ops] : ops });
      after[projection.name] = to;
    }
  }
  return { events, writes, after, unreadable };
};

/**
 * Applies the writes. Not async: what awaits the store's reply holds only what the result needs,
 * not the writes, which can be large and would otherwise be kept and copied by the garbage
 * collector until the reply.
 */
const applyPrepared = (
  { events, writes, after, unreadable }: Prepared,
  views: ViewStore,
  before: Checkpoints,
): Promise<BatchResult> => {
  const applied: BatchResult = { applied: true, batch: { events, before, after }, unreadable };
  if (writes.length === 0) return Promise.resolve(applied);
  return views.apply(writes).then((result): BatchResult => (result.applied ? applied : result));
};

/** Projects consecutive events of the log and applies them, given the stored checkpoints, in one atomic write. */
export const applyRecorded = (
  views: ViewStore,
  projections: readonly Projection[],
  recorded: readonly RecordedEvent[],
  checkpoints: Checkpoints,
): Promise<BatchResult> => applyPrepared(prepare(projections, recorded, checkpoints), views, checkpoints);

/**
 * Drivers send on a later turn of the event loop (node-redis queues a write with setImmediate once
 * the command is built, itself a few promises later): two turns let the store work on a batch
 * while the next page is projected.
 */
const sendTurn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)));

export const lowest = (checkpoints: Checkpoints): number => Math.min(...Object.values(checkpoints));

/** Every checkpoint of `known` is reached in `stored`: the views moved on, not back. */
export const atOrPast = (stored: Checkpoints, known: Checkpoints): boolean =>
  Object.entries(known).every(([name, position]) => (stored[name] ?? 0) >= position);

export interface CatchUpOptions {
  readonly projections: readonly Projection[];
  readonly batchSize?: number;
  /** Positions per projection to stop at (checks rebuild exactly what the live views hold). */
  readonly limits?: Checkpoints;
  /**
   * Told the stored checkpoints each (re)start begins from, before any batch. It may answer an
   * earlier position to read the log from: the events the views already hold are then passed to
   * onApplied with the batches, not written again.
   */
  readonly onStart?: (checkpoints: Checkpoints) => number | void;
  /** `atEnd`: this batch reached the end of the log (or of the limits). */
  readonly onApplied?: (batch: AppliedBatch, atEnd: boolean) => void;
  /** Checked before each page: true ends the catch-up early. */
  readonly stopped?: () => boolean;
}

/**
 * Writes in flight at most: the store works on two while the next batch is read and prepared, so
 * that it never waits for it.
 */
const WRITES_AHEAD = 3;

type Outcome = { readonly result: BatchResult; readonly last: boolean } | { readonly error: unknown };

/**
 * Reads the log in pages from the lowest stored checkpoint and applies each page as one batch,
 * until a page comes back short (the end of the log, or of the limits). Batches are built on the
 * checkpoints the writes before them will leave, and sent while those are still in flight: the
 * store applies them in order, and each applies only on exactly the checkpoints it was built on.
 * Results are taken in order; once a write is refused (the views moved) or fails, nothing more
 * is sent, and the catch-up starts again from the stored checkpoints or rejects. Views of
 * another layout are dropped first (see dropOtherLayout). Returns the checkpoints reached.
 */
export const catchUp = async (store: EventStore, views: ViewStore, options: CatchUpOptions): Promise<Checkpoints> => {
  const { projections, limits, onStart, onApplied, stopped } = options;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const end = limits === undefined ? Infinity : Math.max(0, ...Object.values(limits));
  const read = async (after: number) =>
    (await store.readAll({ after, maxCount: batchSize })).filter((e) => e.position <= end);

  const names = projectionNames(projections);
  await dropOtherLayout(views, names);
  let applied = await views.checkpoints(names);
  const readFrom = onStart?.(applied);
  // The checkpoints the next batch is built on: those the writes in flight will leave.
  let planned = applied;
  const inFlight: Promise<Outcome>[] = [];
  let trouble: { readonly error: unknown } | { readonly moved: true } | undefined;
  const settleOldest = async (): Promise<void> => {
    const outcome = await inFlight.shift()!;
    if ('error' in outcome) trouble ??= outcome;
    else if (!outcome.result.applied) trouble ??= { moved: true };
    else {
      applied = outcome.result.batch.after;
      onApplied?.(outcome.result.batch, outcome.last);
    }
  };

  let unreadable: ProjectionError | undefined;
  /**
   * Prepares a page and sends its batch; returns where the next page starts, or undefined at the
   * end. Not async: V8 keeps an async function's variables until it returns, even those it no
   * longer reads, and a page kept across the wait for the store would be copied by every garbage
   * collection meanwhile.
   */
  const send = (page: readonly RecordedEvent[]): number | undefined => {
    if (page.length === 0) return undefined;
    const prepared = prepare(projections, page, planned, limits);
    const last = page.length < batchSize && prepared.unreadable === undefined;
    // Unless a listener reads them, the events go once the write is sent, not when its reply comes.
    inFlight.push(
      applyPrepared(onApplied === undefined ? { ...prepared, events: [] } : prepared, views, planned).then(
        (result): Outcome => ({ result, last }),
        (error: unknown): Outcome => ({ error }),
      ),
    );
    planned = prepared.after;
    unreadable = prepared.unreadable;
    return unreadable !== undefined || page.length < batchSize ? undefined : page[page.length - 1].position;
  };

  let after: number | undefined = Math.min(lowest(applied), readFrom ?? Infinity);
  while (after !== undefined && !stopped?.()) {
    while (inFlight.length >= WRITES_AHEAD && trouble === undefined) await settleOldest();
    if (trouble !== undefined) break;
    after = send(await read(after));
    // The driver sends the batch meanwhile.
    await sendTurn();
  }
  while (inFlight.length > 0) await settleOldest();
  if (trouble !== undefined && 'error' in trouble) throw trouble.error;
  if (unreadable !== undefined) throw unreadable;
  // Someone else moved the views meanwhile: start again from where they now are.
  if (trouble !== undefined) return catchUp(store, views, options);
  return applied;
};
