import * as E from 'fp-ts/Either';
import { Actor } from '../command-envelope';
import { CommandError, storeUnavailable } from '../errors';
import { KeyPool, Outcome } from './key-pool';

export interface StrandedSweep {
  /** One pass now (or the one running): the ranges it destroyed. */
  once(): Outcome<readonly string[]>;
  /** No more passes; resolves once a pass under way has finished. */
  stop(): Promise<void>;
}

/**
 * Destroys the pool's reservations older than `afterMs`, then again every `afterMs`, telling
 * `report` what each timed pass did. A delivery takes milliseconds, so an older one was stranded
 * by a process that stopped; a younger one may be another server's delivery under way on the
 * same log.
 */
export const sweepStranded = (
  pool: KeyPool,
  actor: Actor,
  sourceId: string,
  afterMs: number,
  report: (outcome: E.Either<CommandError, readonly string[]>) => void,
): StrandedSweep => {
  let running: Outcome<readonly string[]> | undefined;
  const once = (): Outcome<readonly string[]> =>
    (running ??= pool
      .recover(actor, sourceId, new Date(Date.now() - afterMs))
      .catch((error: unknown) => E.left(storeUnavailable(error instanceof Error ? error.message : String(error))))
      .finally(() => (running = undefined)));
  const timer = setInterval(() => void once().then(report), afterMs);
  timer.unref();
  return {
    once,
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
};
