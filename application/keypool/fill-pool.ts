import * as E from 'fp-ts/Either';
import { Actor } from '../command-envelope';
import { CommandError } from '../errors';
import { KeySource } from '../ports/key-source';
import { KeyPool } from './key-pool';

export interface FillProgress {
  readonly wantBytes: number;
  readonly ingestedBytes: number;
  readonly blocks: number;
  readonly discarded: number;
}

export interface FillReport extends FillProgress {
  /** Mean and highest QBER over the blocks kept. */
  readonly qber?: { readonly mean: number; readonly max: number };
  /** Mean reconciliation efficiency f over the blocks that report one. */
  readonly efficiency?: number;
  /** Set when the source kept aborting: why the last block was discarded. */
  readonly stoppedBecause?: string;
}

/** Consecutive discarded blocks after which the link is taken to be under attack or broken. */
export const MAX_CONSECUTIVE_DISCARDS = 5;

const mean = (values: readonly number[]): number | undefined =>
  values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;

/**
 * Pulls blocks from the source until `wantBytes` are ingested. A block that is not key is recorded
 * as discarded and its bytes dropped; a source that aborts block after block stops the fill.
 */
export const fillPool = async (
  pool: KeyPool,
  source: KeySource,
  actor: Actor,
  wantBytes: number,
  onProgress: (progress: FillProgress) => void = () => {},
): Promise<E.Either<CommandError, FillReport>> => {
  const qbers: number[] = [];
  const efficiencies: number[] = [];
  let [ingestedBytes, blocks, discarded, inARow] = [0, 0, 0, 0];
  let stoppedBecause: string | undefined;
  await pool.discardUnrecorded(source.sourceId);
  while (ingestedBytes < wantBytes && stoppedBecause === undefined) {
    for (const block of await source.next(wantBytes - ingestedBytes)) {
      if (block.ok) {
        const ingested = await pool.ingest(actor, source.sourceId, block);
        if (E.isLeft(ingested)) return ingested;
        ingestedBytes += block.key.length;
        blocks++;
        inARow = 0;
        qbers.push(block.qber);
        if (block.figures.efficiency !== undefined) efficiencies.push(block.figures.efficiency);
      } else {
        const recorded = await pool.discarded(actor, source.sourceId, block.blockId, block.reason);
        if (E.isLeft(recorded)) return recorded;
        discarded++;
        if (++inARow >= MAX_CONSECUTIVE_DISCARDS) stoppedBecause = block.reason;
      }
      onProgress({ wantBytes, ingestedBytes, blocks, discarded });
    }
  }
  const qberMean = mean(qbers);
  const efficiency = mean(efficiencies);
  return E.right({
    wantBytes,
    ingestedBytes,
    blocks,
    discarded,
    ...(qberMean !== undefined && { qber: { mean: qberMean, max: Math.max(...qbers) } }),
    ...(efficiency !== undefined && { efficiency }),
    ...(stoppedBecause !== undefined && { stoppedBecause }),
  });
};
