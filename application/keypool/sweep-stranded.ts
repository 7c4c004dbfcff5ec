import * as E from 'fp-ts/Either';
import { Actor } from '../command-envelope';
import { CommandError, storeUnavailable } from '../errors';
import { Periodic, periodically } from '../periodic';
import { KeyPool } from './key-pool';

/** `once` is a pass now (or the one running), answering the ranges it destroyed. */
export type StrandedSweep = Periodic<E.Either<CommandError, readonly string[]>>;

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
): StrandedSweep =>
  periodically(
    afterMs,
    () =>
      pool
        .recover(actor, sourceId, new Date(Date.now() - afterMs))
        .catch((error: unknown) => E.left(storeUnavailable(error instanceof Error ? error.message : String(error)))),
    report,
  );
