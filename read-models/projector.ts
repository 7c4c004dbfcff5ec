import { isDeepStrictEqual } from 'node:util';
import { AuditEntry } from '../application/ports/read-models';
import { EventStore, RecordedEvent, StoreUnavailableError, Subscription } from '../application/ports/event-store';
import { lostViews, VIEWS_UNREACHABLE, ViewStore, ViewsUnavailableError } from '../application/ports/view-store';
import { auditEntryOf, auditProjection } from './audit/projection';
import { changedDevice, deviceProjection } from './device/projection';
import { Projection, ProjectionError } from './projection';
import { allProjections, projectionNames } from './projections';
import { AppliedBatch, applyRecorded, atOrPast, catchUp, Checkpoints, DEFAULT_BATCH_SIZE, lowest } from './replay';

/** What one applied batch changed, for live feeds (GraphQL subscriptions). */
export interface ViewChange {
  /** The position every projection has now reached. */
  readonly position: number;
  /** Audit entries added, oldest first. */
  readonly audit: readonly AuditEntry[];
  /** Serials whose DeviceView changed. */
  readonly devices: readonly string[];
}

export interface ProjectorStatus {
  /** The lowest position every projection is known to have reached. */
  readonly position: number;
  /**
   * True until the first catch-up ends, and from a fault until the views have caught up again:
   * the views are not live, and queries are refused.
   */
  readonly stale: boolean;
  /** Why the views are stale, fit for a console; undefined when they are not. */
  readonly reason?: string;
}

export interface ProjectorOptions {
  readonly projections?: readonly Projection[];
  /** Events per atomic write, in catch-up and live; default 1000. */
  readonly batchSize?: number;
  /**
   * How often a projector that follows the log checks that the stored checkpoints are still where
   * it left them (default 1000 ms): views dropped or lost without a write or a disconnection to
   * show it (a rebuild by another process, a flush) are noticed within that time.
   */
  readonly checkIntervalMs?: number;
  /** Backoff between attempts after a fault: from minRetryMs doubling up to maxRetryMs (defaults 100 and 5000). */
  readonly minRetryMs?: number;
  readonly maxRetryMs?: number;
  /** Told of every fault (for logs); the projector retries by itself. */
  readonly onFault?: (error: Error) => void;
}

/** The stored checkpoints are not where this projector left them: the store lost its views, or they were rebuilt. */
class ViewsMovedError extends Error {
  constructor(checkpoint: number) {
    super(
      `the views are at position ${checkpoint}, not where the projector left them ` +
        '(the view store lost data or was rebuilt); catching up',
    );
  }
}

interface Waiter {
  readonly position: number;
  readonly resolve: (reached: boolean) => void;
}

const FAULT =
  "the views stopped following the log after a fault the server's log names; they start over by themselves, retry shortly";

/**
 * Why the views are stale, as every reader of them is told. Only faults whose words are meant for
 * a console keep them (a stored event that cannot be read, the views moved, the event store
 * unavailable); the view store's address and anything else (a driver's words) stay in the
 * server's log, which onFault feeds.
 */
const staleReason = (fault: Error): string => {
  if (fault instanceof ViewsUnavailableError) return VIEWS_UNREACHABLE;
  if (fault instanceof ViewsMovedError || fault instanceof ProjectionError || fault instanceof StoreUnavailableError) {
    return fault.message;
  }
  return FAULT;
};

/**
 * Keeps every projection up to date: catches up from the lowest checkpoint by reading the log in
 * pages, then follows the store's subscription, batching what arrives. Any fault (view store
 * down, views lost) stops applying, marks the views stale, and starts over from the stored
 * checkpoints after a backoff; the checkpoints make every event count once.
 */
export class Projector {
  private readonly projections: readonly Projection[];
  /** Which of the views that listeners hear about this projector keeps. */
  private readonly keeps: { readonly audit: boolean; readonly devices: boolean };
  private readonly batchSize: number;
  private running = false;
  private loop?: Promise<void>;
  private reached = 0;
  /** The position of the last event told to listeners. */
  private reported = 0;
  private startedOnce = false;
  private stale = true;
  private reason?: string = 'the views are catching up with the log; retry shortly';
  private readonly listeners = new Set<(change: ViewChange) => void>();
  private readonly enders = new Set<() => void>();
  private readonly waiters = new Set<Waiter>();
  /** Ends the current live phase or backoff early. */
  private interrupt?: (error?: Error) => void;
  private unwatch?: () => void;

  constructor(
    private readonly store: EventStore,
    private readonly views: ViewStore,
    private readonly options: ProjectorOptions = {},
  ) {
    this.projections = options.projections ?? allProjections;
    const names = new Set(this.projections.map((p) => p.name));
    this.keeps = { audit: names.has(auditProjection.name), devices: names.has(deviceProjection.name) };
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unwatch = this.views.watch((state) => {
      const interrupt = this.interrupt;
      if (interrupt === undefined) return;
      if (state === 'up') return interrupt();
      const fault = state === 'down' ? new ViewsUnavailableError(this.views.where) : new ViewsMovedError(0);
      // Stale now, not once the live phase has wound down: until then a query or a waiter would
      // still take the views for live.
      this.stale = true;
      this.reason = staleReason(fault);
      interrupt(fault);
    });
    this.loop = this.run();
  }

  /** Stops applying and ends every change iterator; the views keep what was applied. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unwatch?.();
    this.interrupt?.();
    await this.loop;
    for (const end of this.enders) end();
  }

  /** The checkpoints this projector keeps. */
  get projectionNames(): string[] {
    return projectionNames(this.projections);
  }

  status(): ProjectorStatus {
    return { position: this.reached, stale: this.stale, reason: this.stale ? this.reason : undefined };
  }

  /** Resolves true once the views are live and every projection has reached `position`, false after `timeoutMs`. */
  waitFor(position: number, timeoutMs: number): Promise<boolean> {
    if (!this.stale && this.reached >= position) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(false), timeoutMs);
      const waiter: Waiter = { position, resolve: (reached) => settle(reached) };
      const settle = (reached: boolean): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(reached);
      };
      this.waiters.add(waiter);
    });
  }

  /** Calls `listener` after each applied batch; returns the function that removes it. */
  onChange(listener: (change: ViewChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many listeners and iterators are attached; each removes itself when it ends. */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /**
   * The changes from now on, for `for await`. Leaving the loop (break, return, throw) or an abort
   * of `signal` removes the listener; the iterator ends when the projector stops.
   */
  changes(signal?: AbortSignal): AsyncIterableIterator<ViewChange> {
    const queued: ViewChange[] = [];
    let next: ((result: IteratorResult<ViewChange>) => void) | undefined;
    let ended = false;
    const off = this.onChange((change) => {
      if (next) {
        const deliver = next;
        next = undefined;
        deliver({ value: change, done: false });
      } else queued.push(change);
    });
    const end = (): void => {
      if (ended) return;
      ended = true;
      off();
      this.enders.delete(end);
      signal?.removeEventListener('abort', end);
      queued.length = 0;
      next?.({ value: undefined, done: true });
      next = undefined;
    };
    this.enders.add(end);
    signal?.addEventListener('abort', end, { once: true });
    if (signal?.aborted) end();
    const finished = (): IteratorResult<ViewChange> => ({ value: undefined, done: true });
    return {
      next: () => {
        const change = queued.shift();
        if (change !== undefined) return Promise.resolve({ value: change, done: false });
        if (ended) return Promise.resolve(finished());
        return new Promise((resolve) => (next = resolve));
      },
      return: async () => {
        end();
        return finished();
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  private async run(): Promise<void> {
    const minDelay = this.options.minRetryMs ?? 100;
    const maxDelay = this.options.maxRetryMs ?? 5000;
    let delay = minDelay;
    while (this.running) {
      try {
        const checkpoints = await catchUp(this.store, this.views, {
          projections: this.projections,
          batchSize: this.batchSize,
          onStart: (stored) => this.startFrom(stored),
          // Caught up before the waiters hear of it, so a console reading its write sees fresh views.
          onApplied: (batch, atEnd) => {
            if (atEnd) this.stale = false;
            this.applied(batch);
          },
          stopped: () => !this.running,
        });
        if (!this.running) break;
        this.stale = false;
        this.advance(lowest(checkpoints));
        delay = minDelay;
        await this.follow(checkpoints);
      } catch (error) {
        if (!this.running) break;
        const fault = error instanceof Error ? error : new Error(String(error));
        this.stale = true;
        this.reason = staleReason(fault);
        this.options.onFault?.(fault);
        // The catch-up learns from the stored checkpoints where the views now are.
        if (fault instanceof ViewsMovedError) continue;
        await this.pause(delay);
        delay = Math.min(delay * 2, maxDelay);
      }
    }
  }

  /** Follows the subscription from `checkpoints` until stopped (resolves) or a fault (rejects). */
  private follow(checkpoints: Checkpoints): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let known = checkpoints;
      let pending: RecordedEvent[] = [];
      let chain = Promise.resolve();
      let scheduled = false;
      let over = false;
      let subscription: Subscription | undefined;
      let checking: NodeJS.Timeout | undefined;
      const finish = (error?: Error): void => {
        if (over) return;
        over = true;
        clearInterval(checking);
        this.interrupt = undefined;
        const closed = subscription ? subscription.close() : Promise.resolve();
        void closed.finally(() => (error ? reject(error) : resolve()));
      };
      const flush = (): Promise<void> => {
        if (over || pending.length === 0) return chain;
        const batch = pending;
        pending = [];
        chain = chain
          .then(async () => {
            if (over) return;
            let result = await applyRecorded(this.views, this.projections, batch, known);
            // Another process sharing these views applied this batch first: go on from where it left
            // them (the batch applies what remains above them, often nothing). Views behind were lost.
            // Each refusal names other checkpoints than the last, or the loop ends. A refusal names
            // only the projections the batch wrote: the others were past it already, and stay so.
            let builtOn = known;
            while (!over && !result.applied) {
              const stored = { ...builtOn, ...result.checkpoints };
              if (!atOrPast(stored, builtOn) || isDeepStrictEqual(stored, builtOn)) break;
              builtOn = stored;
              result = await applyRecorded(this.views, this.projections, batch, builtOn);
            }
            if (over) return;
            if (!result.applied) throw new ViewsMovedError(lowest(result.checkpoints));
            known = result.batch.after;
            this.applied(result.batch);
            if (result.unreadable) throw result.unreadable;
          })
          .catch((error: unknown) => finish(error instanceof Error ? error : new Error(String(error))));
        return chain;
      };
      this.interrupt = (error) => finish(error);
      subscription = this.store.subscribe({
        after: lowest(checkpoints),
        onEvent: async (event) => {
          if (over) return;
          pending.push(event);
          // Waiting here holds the subscription back while a full batch is written.
          if (pending.length >= this.batchSize) return flush();
          if (!scheduled) {
            scheduled = true;
            setImmediate(() => {
              scheduled = false;
              void flush();
            });
          }
        },
        onError: (error) => finish(error),
      });
      // Between batches, so that a batch in flight cannot make the views look moved.
      checking = setInterval(() => {
        chain = chain
          .then(async () => {
            if (over) return;
            const left = known;
            const stored = await this.views.checkpoints(this.projectionNames);
            if (!over && !atOrPast(stored, left)) throw new ViewsMovedError(lowest(stored));
          })
          .catch((error: unknown) => finish(error instanceof Error ? error : new Error(String(error))));
      }, this.options.checkIntervalMs ?? 1000);
    });
  }

  private applied(batch: AppliedBatch): void {
    const audit: AuditEntry[] = [];
    const devices = new Set<string>();
    // Only events not reported before: a catch-up after a fault, or a batch another process
    // sharing the views applied first, brings events back that listeners have already had.
    const from = this.reported;
    for (const e of batch.events) {
      const { position } = e.recorded;
      if (position <= from) continue;
      if (this.keeps.audit) audit.push(auditEntryOf(e));
      const serial = this.keeps.devices ? changedDevice(e) : undefined;
      if (serial !== undefined) devices.add(serial);
      this.reported = position;
    }
    const position = lowest(batch.after);
    this.advance(position);
    const change: ViewChange = { position, audit, devices: [...devices] };
    for (const listener of this.listeners) listener(change);
  }

  /**
   * A catch-up begins from the stored checkpoints, which are the truth about the views: below what
   * they had reached when the store lost them, so read-your-writes must wait for them again.
   * Answers where to read the log from: at the first start, what the views already held is no
   * news to listeners; later, events another process applied while this one was away are.
   */
  private startFrom(stored: Checkpoints): number {
    const position = lowest(stored);
    this.reason =
      position < this.reached
        ? lostViews(position, this.reached)
        : `the views are catching up with the log from position ${position}; retry shortly`;
    this.stale = true;
    this.reached = position;
    if (!this.startedOnce) this.reported = Math.max(this.reported, position);
    this.startedOnce = true;
    return Math.min(position, this.reported);
  }

  /** Waiters hear only of live views: a position reached during a catch-up may be far behind the log. */
  private advance(position: number): void {
    this.reached = position;
    if (this.stale) return;
    for (const waiter of this.waiters) if (position >= waiter.position) waiter.resolve(true);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.interrupt = () => {
        this.interrupt = undefined;
        done();
      };
    });
  }
}
