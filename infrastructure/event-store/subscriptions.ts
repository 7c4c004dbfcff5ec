import { RecordedEvent, SubscribeOptions, Subscription } from '../../application/ports/event-store';

/** Reads events strictly after a position, in position order. */
export type ReadAfter = (after: number, maxCount: number) => Promise<RecordedEvent[]>;

const PAGE_SIZE = 500;

/**
 * The subscriptions of one store: each catches up by paging through readAll, then sleeps until the
 * store announces an append (notify) or, for writers the store cannot hear (other processes), until
 * the next poll. Shared by every adapter so delivery semantics cannot drift between them.
 */
export class SubscriptionHub {
  private readonly live = new Set<CatchUpSubscription>();

  constructor(
    private readonly read: ReadAfter,
    /** Poll period in ms; undefined when every append is announced (a store in one process's memory). */
    private readonly pollMs?: number,
  ) {}

  subscribe(options: SubscribeOptions): Subscription {
    const subscription = new CatchUpSubscription(options, this.read, this.pollMs, (s) => this.live.delete(s));
    this.live.add(subscription);
    return subscription;
  }

  /** Wakes every subscription to read what was appended. */
  notify(): void {
    for (const subscription of this.live) subscription.wake();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.live].map((subscription) => subscription.close()));
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
