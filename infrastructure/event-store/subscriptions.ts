import { RecordedEvent, SubscribeOptions, Subscription } from '../../application/ports/event-store';

/** Reads events strictly after a position, in position order. */
export type ReadAfter = (after: number, maxCount: number) => Promise<RecordedEvent[]>;

const PAGE_SIZE = 500;

/**
 * How a hub learns of appends the store cannot announce (another process's): every subscription
 * reads the log every `pollMs`, or the hub asks the store every `watchMs` whether anything changed,
 * a question much cheaper than a read, and wakes the subscriptions when it did.
 */
export type OtherWriters = { readonly pollMs: number } | { readonly watchMs: number; readonly changed: () => boolean };

/**
 * The subscriptions of one store: each catches up by paging through readAll, then sleeps until the
 * store announces an append (notify) or another writer's append is seen (OtherWriters). Shared by
 * every adapter so delivery semantics cannot drift between them.
 */
export class SubscriptionHub {
  private readonly live = new Set<CatchUpSubscription>();
  private watcher?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly read: ReadAfter,
    /** Undefined when every append is announced (a store in one process's memory). */
    private readonly others?: OtherWriters,
  ) {}

  subscribe(options: SubscribeOptions): Subscription {
    const pollMs = this.others !== undefined && 'pollMs' in this.others ? this.others.pollMs : undefined;
    const subscription = new CatchUpSubscription(options, this.read, pollMs, (s) => this.stopped(s));
    this.live.add(subscription);
    this.watch();
    return subscription;
  }

  /** Wakes every subscription to read what was appended. */
  notify(): void {
    for (const subscription of this.live) subscription.wake();
  }

  /** Stops the watch first: the store closes next, and a handler still running would otherwise keep it asking. */
  async closeAll(): Promise<void> {
    this.closed = true;
    this.unwatch();
    await Promise.all([...this.live].map((subscription) => subscription.close()));
  }

  /** Asks the store while anyone listens, and only then: the timer keeps the process alive as a poll would. */
  private watch(): void {
    if (this.closed || this.watcher !== undefined || this.others === undefined || !('watchMs' in this.others)) return;
    const { watchMs, changed } = this.others;
    this.watcher = setInterval(() => {
      let seen: boolean;
      try {
        seen = changed();
      } catch {
        // The subscriptions' next read meets the same fault and reports it to their owners.
        seen = true;
      }
      if (seen) this.notify();
    }, watchMs);
  }

  private stopped(subscription: CatchUpSubscription): void {
    this.live.delete(subscription);
    if (this.live.size === 0) this.unwatch();
  }

  private unwatch(): void {
    clearInterval(this.watcher);
    this.watcher = undefined;
  }
}

class CatchUpSubscription implements Subscription {
  private closed = false;
  /** An append was announced since the last read began, so sleeping now could miss it. */
  private announced = false;
  private inHandler = false;
  private wakeUp?: () => void;
  private readonly done: Promise<void>;

  constructor(
    private readonly options: SubscribeOptions,
    private readonly read: ReadAfter,
    private readonly pollMs: number | undefined,
    private readonly onStop: (subscription: CatchUpSubscription) => void,
  ) {
    this.done = this.run();
  }

  wake(): void {
    this.announced = true;
    this.wakeUp?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeUp?.();
    // A handler may close its own subscription; waiting for the loop there would wait for itself.
    if (!this.inHandler) await this.done;
  }

  private async run(): Promise<void> {
    let position = this.options.after ?? 0;
    try {
      while (!this.closed) {
        this.announced = false;
        const page = await this.read(position, PAGE_SIZE);
        for (const event of page) {
          if (this.closed) return;
          this.inHandler = true;
          try {
            await this.options.onEvent(event);
          } finally {
            this.inHandler = false;
          }
          position = event.position;
        }
        if (page.length < PAGE_SIZE && !this.announced && !this.closed) {
          await this.sleep();
          // Appends of the same turn (a burst of commands) are then read in one page, not one each.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    } catch (error) {
      if (!this.closed) this.fail(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.onStop(this);
    }
  }

  private fail(error: Error): void {
    this.closed = true;
    if (this.options.onError) this.options.onError(error);
    // Without a handler a stopped subscription must not pass silently: surface it as unhandled.
    else void Promise.reject(error);
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.pollMs === undefined ? undefined : setTimeout(() => this.wakeUp?.(), this.pollMs);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }
}
