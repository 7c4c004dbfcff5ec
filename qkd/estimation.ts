import { dropBits, selectBits } from './bits';
import { binaryEntropy } from './entropy';
import { RandomSource, fillIdentity, shuffle } from './random';

/**
 * Above this QBER no key can be extracted even by a perfect code: the Shor-Preskill rate
 * 1 - 2 h(Q) reaches zero at Q = 11.0%. An intercept-resend attack on every pulse gives 25%.
 */
export const QBER_ABORT_THRESHOLD = 0.11;

export interface QberEstimate {
  readonly sampleSize: number;
  readonly errors: number;
  /** Errors over sample size. */
  readonly qber: number;
  /** Finite-size bound: with probability at least 1 - epsilon, the QBER of the kept bits lies within [lower, upper]. */
  readonly lower: number;
  readonly upper: number;
}

/** The public random sample: sampleSize distinct positions of n, ascending. */
export const choosePositions = (n: number, sampleSize: number, random: RandomSource): Int32Array => {
  if (sampleSize < 1 || sampleSize >= n) throw new RangeError(`sample size must be in [1, ${n - 1}] for ${n} sifted bits, got ${sampleSize}`);
  // The first sampleSize places of a partial shuffle are a uniform sample of the positions.
  return shuffle(random, fillIdentity(new Int32Array(n)), sampleSize).slice(0, sampleSize).sort();
};

/**
 * Serfling's bound for sampling without replacement: for k sampled and n kept bits, the kept
 * bits' error rate exceeds the sample's by more than
 *   mu = sqrt( (n + k) / (n k) * (k + 1) / k * ln(1 / epsilon) / 2 )
 * with probability at most epsilon (and symmetrically below).
 */
export const samplingDeviation = (kept: number, sampleSize: number, epsilon: number): number =>
  Math.sqrt((((kept + sampleSize) / (kept * sampleSize)) * ((sampleSize + 1) / sampleSize) * Math.log(1 / epsilon)) / 2);

/** Compares the sampled bits (they are disclosed, then dropped) and bounds the QBER of the rest. */
export const estimateQber = (alice: Uint8Array, bob: Uint8Array, sample: Int32Array, epsilon: number): QberEstimate => {
  const [a, b] = [selectBits(alice, sample), selectBits(bob, sample)];
  let errors = 0;
  for (let i = 0; i < a.length; i++) errors += a[i] ^ b[i];
  const qber = errors / sample.length;
  const mu = samplingDeviation(alice.length - sample.length, sample.length, epsilon);
  return { sampleSize: sample.length, errors, qber, lower: Math.max(0, qber - mu), upper: Math.min(1, qber + mu) };
};

/** The bits left after the sample is disclosed. */
export const withoutSample = (bits: Uint8Array, sample: Int32Array): Uint8Array => dropBits(bits, sample);

/** Why no key can come from this estimate, or undefined if reconciliation may go ahead. */
export const abortReason = (estimate: QberEstimate): string | undefined =>
  estimate.upper > QBER_ABORT_THRESHOLD
    ? `QBER bound ${(estimate.upper * 100).toFixed(2)}% (sampled ${(estimate.qber * 100).toFixed(2)}%) is above the ${QBER_ABORT_THRESHOLD * 100}% limit at which no key can be extracted; check the link for an eavesdropper or misalignment before retrying`
    : undefined;

/** Shannon-limit leakage n h(Q): the yardstick for reconciliation efficiency. */
export const shannonLeakage = (n: number, qber: number): number => n * binaryEntropy(qber);
