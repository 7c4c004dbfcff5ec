export interface Periodic<A> {
  /** One pass now, or the one already running. */
  once(): Promise<A>;
  /** No more passes; resolves once a pass under way has finished, so what it uses can close after it. */
  stop(): Promise<void>;
}

/**
 * Runs `pass` every `intervalMs` and on demand, one at a time (a slow store gets no pile of them),
 * telling `report` what each timed pass gave. `pass` answers its faults rather than throwing them.
 */
export const periodically = <A>(intervalMs: number, pass: () => Promise<A>, report: (outcome: A) => void = () => {}): Periodic<A> => {
  let running: Promise<A> | undefined;
  const once = (): Promise<A> => (running ??= pass().finally(() => (running = undefined)));
  const timer = setInterval(() => void once().then(report), intervalMs);
  timer.unref();
  return {
    once,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
};
