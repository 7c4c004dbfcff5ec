import { RandomSource, randomBits, uniform } from './random';

/** The physical link: a single-photon source, a lossy fibre, a threshold detector and, optionally, Eve. */
export interface LinkParameters {
  readonly pulses: number;
  readonly lengthKm: number;
  readonly lossDbPerKm: number;
  /** Probability that a photon reaching Bob clicks his detector. */
  readonly detectorEfficiency: number;
  /** Probability of a click with no photon, per pulse. */
  readonly darkCountProbability: number;
  /** Probability that optical misalignment flips a detected photon's bit. */
  readonly misalignment: number;
  /** Fraction of pulses an intercept-resend eavesdropper measures in a random basis and resends. */
  readonly eavesdropFraction: number;
}

export interface LinkRecord {
  readonly aliceBits: Uint8Array;
  /** 0 = rectilinear, 1 = diagonal. */
  readonly aliceBases: Uint8Array;
  readonly bobBases: Uint8Array;
  /** 1 where Bob's detector clicked; his bit there is in bobBits (0 elsewhere). */
  readonly detected: Uint8Array;
  readonly bobBits: Uint8Array;
}

/** Probability that a photon leaving Alice clicks Bob's detector: fibre loss 10^(-alpha L / 10) times efficiency. */
export const transmittance = (p: LinkParameters): number => 10 ** ((-p.lossDbPerKm * p.lengthKm) / 10) * p.detectorEfficiency;

const checkParameters = (p: LinkParameters): void => {
  const probabilities = ['detectorEfficiency', 'darkCountProbability', 'misalignment', 'eavesdropFraction'] as const;
  for (const field of probabilities) {
    if (!(p[field] >= 0 && p[field] <= 1)) throw new RangeError(`link ${field} must be a probability in [0, 1], got ${p[field]}`);
  }
  if (!Number.isInteger(p.pulses) || p.pulses < 1) throw new RangeError(`link pulses must be a positive integer, got ${p.pulses}`);
  if (!(p.lengthKm >= 0) || !(p.lossDbPerKm >= 0)) throw new RangeError('link lengthKm and lossDbPerKm must be non-negative');
};

/**
 * Runs BB84 over the link. A photon measured in the wrong basis, a dark count alone, or a photon
 * and a dark count together (double click, squashed to a random bit) gives Bob a random bit.
 */
export const simulateLink = (p: LinkParameters, random: RandomSource): LinkRecord => {
  checkParameters(p);
  const n = p.pulses;
  const aliceBits = randomBits(random, n);
  const aliceBases = randomBits(random, n);
  const bobBases = randomBits(random, n);
  const detected = new Uint8Array(n);
  const bobBits = new Uint8Array(n);
  const eta = transmittance(p);
  const randomBit = (): number => random.nextUint32() & 1;
  for (let i = 0; i < n; i++) {
    let [bit, basis] = [aliceBits[i], aliceBases[i]];
    if (p.eavesdropFraction > 0 && uniform(random) < p.eavesdropFraction) {
      const eveBasis = randomBit();
      bit = eveBasis === basis ? bit : randomBit();
      basis = eveBasis;
    }
    const photon = uniform(random) < eta;
    const dark = p.darkCountProbability > 0 && uniform(random) < p.darkCountProbability;
    if (!photon && !dark) continue;
    detected[i] = 1;
    if (photon && !dark) {
      const measured = basis === bobBases[i] ? bit : randomBit();
      bobBits[i] = uniform(random) < p.misalignment ? measured ^ 1 : measured;
    } else {
      bobBits[i] = randomBit();
    }
  }
  return { aliceBits, aliceBases, bobBases, detected, bobBits };
};
