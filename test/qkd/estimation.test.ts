import { abortReason, choosePositions, estimateQber, samplingDeviation, withoutSample } from '../../qkd/estimation';
import { randomBits, seededRandom, uniform } from '../../qkd/random';

const noisyPair = (n: number, q: number, seed: number) => {
  const r = seededRandom(seed);
  const alice = randomBits(r, n);
  const bob = alice.map((bit) => (uniform(r) < q ? bit ^ 1 : bit));
  return { alice, bob, r };
};

describe('parameter estimation', () => {
  it('bounds the QBER of the kept bits in almost every seeded run', () => {
    let contained = 0;
    const runs = 100;
    for (let seed = 0; seed < runs; seed++) {
      const { alice, bob, r } = noisyPair(20_000, 0.05, seed);
      const sample = choosePositions(alice.length, 2000, r);
      const estimate = estimateQber(alice, bob, sample, 1e-3);
      const [keptA, keptB] = [withoutSample(alice, sample), withoutSample(bob, sample)];
      let errors = 0;
      for (let i = 0; i < keptA.length; i++) errors += keptA[i] ^ keptB[i];
      const trueQber = errors / keptA.length;
      if (trueQber >= estimate.lower && trueQber <= estimate.upper) contained++;
      expect(estimate.sampleSize).toBe(2000);
      expect(keptA.length).toBe(18_000);
    }
    expect(contained).toBeGreaterThanOrEqual(99);
  });

  it('follows the stated deviation formula', () => {
    const [n, k, eps] = [18_000, 2000, 1e-3];
    expect(samplingDeviation(n, k, eps)).toBeCloseTo(Math.sqrt((((n + k) / (n * k)) * ((k + 1) / k) * Math.log(1 / eps)) / 2), 12);
  });

  it('aborts above the no-key threshold and proceeds below it', () => {
    const run = (q: number, seed: number) => {
      const { alice, bob, r } = noisyPair(20_000, q, seed);
      return abortReason(estimateQber(alice, bob, choosePositions(alice.length, 2000, r), 1e-6));
    };
    expect(run(0.25, 1)).toMatch(/above the 11% limit/);
    expect(run(0.03, 2)).toBeUndefined();
  });
});
