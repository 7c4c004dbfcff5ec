import { blockSchedule, CASCADE_VARIANTS, keyParityOracle, ParityOracle, planCascade, reconcile } from '../../qkd/cascade';
import { countDifferences } from '../../qkd/bits';
import { randomBits, seededRandom, uniform } from '../../qkd/random';

const frame = (n: number, q: number, seed: number) => {
  const r = seededRandom(seed);
  const alice = randomBits(r, n);
  const bob = alice.map((bit) => (uniform(r) < q ? bit ^ 1 : bit));
  return { alice, bob, r };
};

/** Counts what crosses the channel independently of Cascade's own counters. */
const counting = (oracle: ParityOracle) => {
  const tally = { parities: 0, calls: 0 };
  return {
    tally,
    oracle: {
      parities: (queries: Int32Array) => {
        tally.calls++;
        tally.parities += queries.length / 3;
        return oracle.parities(queries);
      },
    },
  };
};

describe('Cascade', () => {
  it.each(CASCADE_VARIANTS)('%s corrects every error at 1-10%% QBER and counts parities exactly', (variant) => {
    for (const [i, q] of [0.01, 0.02, 0.05, 0.08, 0.1].entries()) {
      for (let seed = 0; seed < 4; seed++) {
        const { alice, bob, r } = frame(4000, q, 100 * i + seed);
        const plan = planCascade(alice.length, q, variant, r);
        const { tally, oracle } = counting(keyParityOracle(alice, plan));
        const result = reconcile(bob, plan, oracle);
        expect(countDifferences(result.corrected, alice)).toBe(0);
        expect(result.disclosedBits).toBe(tally.parities);
        expect(result.roundTrips).toBe(tally.calls);
      }
    }
  });

  it('leaves an error-free key alone at the cost of the block parities only', () => {
    const { alice, r } = frame(1000, 0, 1);
    const plan = planCascade(1000, 0.02, 'original', r);
    const result = reconcile(Uint8Array.from(alice), plan, keyParityOracle(alice, plan));
    expect(result.disclosedBits).toBe(plan.blockSizes.reduce((sum, k) => sum + Math.ceil(1000 / k), 0));
    expect(result.roundTrips).toBe(plan.blockSizes.length);
  });

  it('uses the published schedules', () => {
    expect(blockSchedule(10_000, 0.05, 'original')).toEqual([15, 30, 60, 120]);
    expect(blockSchedule(10_000, 0.05, 'optimized')).toEqual([32, 128, ...Array(12).fill(5000)]);
  });

  it('discloses less with the optimized variant', () => {
    const disclosed = (variant: 'original' | 'optimized') => {
      const { alice, bob, r } = frame(10_000, 0.05, 9);
      const plan = planCascade(10_000, 0.05, variant, r);
      return reconcile(bob, plan, keyParityOracle(alice, plan)).disclosedBits;
    };
    expect(disclosed('optimized')).toBeLessThan(disclosed('original'));
  });

  it('names the mismatch when a key does not fit its plan', () => {
    const { alice, r } = frame(100, 0.05, 1);
    const plan = planCascade(100, 0.05, 'original', r);
    expect(() => reconcile(alice.slice(0, 50), plan, keyParityOracle(alice, plan))).toThrow(/50 bits, the plan 100/);
  });
});
