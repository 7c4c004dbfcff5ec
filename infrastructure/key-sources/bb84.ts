import { randomUUID } from 'node:crypto';
import { BlockFigures, KeyBlock, KeySource } from '../../application/ports/key-source';
import { packBits } from '../../qkd/bits';
import { LinkParameters } from '../../qkd/link';
import { PipelineOptions, PipelineReport, runPipeline } from '../../qkd/pipeline';
import { RandomSource } from '../../qkd/random';
import { CascadeVariant } from '../../qkd/cascade';

/** A metro fibre link: 10 km at 0.2 dB/km, a good detector, about 1.5% optical error. */
export const DEFAULT_LINK: Omit<LinkParameters, 'pulses'> = {
  lengthKm: 10,
  lossDbPerKm: 0.2,
  detectorEfficiency: 0.6,
  darkCountProbability: 1e-5,
  misalignment: 0.015,
  eavesdropFraction: 0,
};

export interface Bb84Options {
  readonly sourceId: string;
  /** Authenticates the classical channel (a real link refreshes it from its own key). */
  readonly authenticationKey: Uint8Array;
  readonly link?: Partial<Omit<LinkParameters, 'pulses'>>;
  /** Pulses per block; the default gives about 4 kB of final key at the default link. */
  readonly pulsesPerBlock?: number;
  readonly cascade?: CascadeVariant;
  /** Seeded in tests; the OS CSPRNG otherwise. */
  readonly random?: RandomSource;
}

const figuresOf = (r: PipelineReport): BlockFigures => ({
  siftedBits: r.siftedBits,
  ...(r.disclosedBits !== undefined && { disclosedBits: r.disclosedBits }),
  ...(r.efficiency !== undefined && { efficiency: r.efficiency }),
  ...(r.finalBits !== undefined && { finalBits: r.finalBits }),
});

/** The simulated BB84 link with its full post-processing: one pipeline run per block. */
export class Bb84KeySource implements KeySource {
  readonly sourceId: string;
  readonly description: string;
  private readonly options: Omit<PipelineOptions, 'link'> & { link: Omit<LinkParameters, 'pulses'> };
  private readonly pulses: number;

  constructor(options: Bb84Options) {
    this.sourceId = options.sourceId;
    const link = { ...DEFAULT_LINK, ...options.link };
    this.pulses = options.pulsesPerBlock ?? 600_000;
    this.options = {
      link,
      authenticationKey: options.authenticationKey,
      cascade: options.cascade ?? 'optimized',
      sampleFraction: 0.1,
      epsilonPE: 1e-6,
      epsilonPA: 1e-10,
      ...(options.random !== undefined && { random: options.random }),
    };
    this.description = `simulated BB84 link, ${link.lengthKm} km at ${link.lossDbPerKm} dB/km, ${this.options.cascade} Cascade`;
  }

  async next(): Promise<readonly KeyBlock[]> {
    const blockId = `bb84-${randomUUID()}`;
    const result = runPipeline({ ...this.options, link: { ...this.options.link, pulses: this.pulses } });
    if (!result.ok) {
      return [{ ok: false, blockId, reason: result.reason, ...(result.report.qber !== undefined && { qber: result.report.qber }), figures: figuresOf(result.report) }];
    }
    // Whole bytes only: the pool counts bytes; the last partial byte is dropped, not padded.
    const bits = result.aliceKey.subarray(0, result.aliceKey.length - (result.aliceKey.length % 8));
    if (bits.length === 0) return [{ ok: false, blockId, reason: 'the block left less than one byte of key', figures: figuresOf(result.report) }];
    return [{ ok: true, blockId, key: Buffer.from(packBits(bits)), qber: result.report.qber ?? 0, figures: figuresOf(result.report) }];
  }

  async close(): Promise<void> {}
}
