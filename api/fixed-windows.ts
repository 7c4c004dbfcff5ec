/** Keys kept before windows that ended are swept out. */
const SWEEP_AT = 10_000;

export interface Window {
  count: number;
  /** When the window ends, in ms since the epoch. */
  readonly endsAt: number;
}

/**
 * A count per key in fixed windows of `windowMs`, for rate limits: one Map lookup per request.
 * A window that ended counts as none; ended windows are swept out once many keys are kept, so
 * keys that stop coming (addresses, say) do not pile up.
 */
export class FixedWindows {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The key's window if one is running, without starting one. */
  current(key: string): Window | undefined {
    const window = this.windows.get(key);
    if (window === undefined || window.endsAt > this.now()) return window;
    this.windows.delete(key);
    return undefined;
  }

  /** Counts one for the key, starting a window if none is running; returns its window. */
  count(key: string): Window {
    const running = this.current(key);
    if (running !== undefined) {
      running.count++;
      return running;
    }
    const now = this.now();
    if (this.windows.size >= SWEEP_AT) for (const [k, w] of this.windows) if (w.endsAt <= now) this.windows.delete(k);
    const window = { count: 1, endsAt: now + this.windowMs };
    this.windows.set(key, window);
    return window;
  }

  /** Whole seconds until the window ends, at least 1. */
  secondsLeft(window: Window): number {
    return Math.max(1, Math.ceil((window.endsAt - this.now()) / 1000));
  }
}
