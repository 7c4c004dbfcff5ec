import { blockSchedule, CASCADE_VARIANTS, CascadePlan, keyParityOracle, ParityOracle, planCascade, reconcile } from '../../qkd/cascade';
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

  it.each(CASCADE_VARIANTS)('%s corrects short and odd-length frames, whose two-block passes have unequal blocks', (variant) => {
    // Original at 100 bits and 5%: a pass of blocks of 60 and 40.
    for (const [n, q] of [[2001, 0.05], [999, 0.02], [100, 0.05], [3, 0.3]] as const) {
      const { alice, bob, r } = frame(n, q, n);
      const plan = planCascade(n, q, variant, r);
      const { tally, oracle } = counting(keyParityOracle(alice, plan));
      const result = reconcile(bob, plan, oracle);
      expect(countDifferences(result.corrected, alice)).toBe(0);
      expect([result.disclosedBits, result.roundTrips]).toEqual([tally.parities, tally.calls]);
    }
  });

  it('leaves an error-free key alone at the cost of the block parities only', () => {
    const { alice, r } = frame(1000, 0, 1);
    const plan = planCascade(1000, 0.02, 'original', r);
    const result = reconcile(Uint8Array.from(alice), plan, keyParityOracle(alice, plan));
    expect(result.disclosedBits).toBe(plan.blockSizes.reduce((sum, k) => sum + Math.ceil(1000 / k), 0));
    expect(result.roundTrips).toBe(plan.blockSizes.length);
  });

  it('asks the optimized variant for no parity it can derive: later passes skip their last block', () => {
    const { alice, r } = frame(1000, 0, 2);
    const plan = planCascade(1000, 0.02, 'optimized', r);
    const result = reconcile(Uint8Array.from(alice), plan, keyParityOracle(alice, plan));
    const blocks = plan.blockSizes.reduce((sum, k) => sum + Math.ceil(1000 / k), 0);
    expect(result.disclosedBits).toBe(blocks - (plan.blockSizes.length - 1));
  });

  it.each(CASCADE_VARIANTS)('%s reconciles with separate plans drawn from the same seed, as two parties would', (variant) => {
    for (let seed = 0; seed < 6; seed++) {
      const { alice, bob } = frame(3000, 0.06, 40 + seed);
      const [alicePlan, bobPlan] = [planCascade(3000, 0.06, variant, seededRandom(seed)), planCascade(3000, 0.06, variant, seededRandom(seed))];
      expect(countDifferences(reconcile(bob, bobPlan, keyParityOracle(alice, alicePlan)).corrected, alice)).toBe(0);
    }
  });

  it('orders a last block only when settled, the same way for plans from the same seed', () => {
    const [a, b] = [planCascade(2000, 0.05, 'optimized', seededRandom(7)), planCascade(2000, 0.05, 'optimized', seededRandom(7))];
    // Pass 0 has 63 blocks of 32, the last one starting at place 1984.
    const last = 1984;
    const before = Array.from(a.order(0));
    a.settle(0);
    const after = Array.from(a.order(0));
    expect(after.slice(0, last)).toEqual(before.slice(0, last));
    expect(after.slice(last)).not.toEqual(before.slice(last));
    expect([...after.slice(last)].sort((x, y) => x - y)).toEqual([...before.slice(last)].sort((x, y) => x - y));
    b.settle(0);
    b.settle(0);
    expect(Array.from(b.order(0))).toEqual(after);
  });

  it('draws a two-block pass as a set of positions, and its order only when asked, the same way for plans from the same seed', () => {
    const [a, b] = [planCascade(2001, 0.05, 'optimized', seededRandom(9)), planCascade(2001, 0.05, 'optimized', seededRandom(9))];
    const pass = 5;
    const k = a.blockSizes[pass];
    const first = a.firstBlocks[pass] as Int32Array;
    expect([k, a.firstBlocks[0], a.firstBlocks[1]]).toEqual([1001, undefined, undefined]);
    const members = Array.from({ length: 2001 }, (_, i) => i).filter((i) => (first[i >>> 5] >>> (i & 31)) & 1);
    expect(members).toHaveLength(k);
    expect(Array.from(first)).toEqual(Array.from(b.firstBlocks[pass] as Int32Array));
    const order = Array.from(a.order(pass));
    // Both blocks come shuffled, not in the ascending order of the set.
    expect(order.slice(0, k)).not.toEqual(members);
    expect([...order.slice(0, k)].sort((x, y) => x - y)).toEqual(members);
    expect(order.slice(k)).not.toEqual([...order.slice(k)].sort((x, y) => x - y));
    expect([...order].sort((x, y) => x - y)).toEqual(Array.from({ length: 2001 }, (_, i) => i));
    b.settle(pass);
    expect(Array.from(b.order(pass))).toEqual(order);
  });

  it("answers any range of Alice's key, settling a last block before a range inside it", () => {
    const r = seededRandom(8);
    const alice = randomBits(r, 1000);
    const plan = planCascade(1000, 0.05, 'optimized', r);
    const oracle = keyParityOracle(alice, plan);
    const parity = (p: CascadePlan, pass: number, start: number, end: number) => p.order(pass).slice(start, end).reduce((x, position) => x ^ alice[position], 0);
    // Whole blocks of two-block passes first, while their orders are not drawn.
    for (const pass of [2, 7]) {
      const k = plan.blockSizes[pass];
      const answers = Array.from(oracle.parities(Int32Array.of(pass, 0, k, pass, k, 1000)));
      expect(answers).toEqual([parity(plan, pass, 0, k), parity(plan, pass, k, 1000)]);
    }
    for (let t = 0; t < 300; t++) {
      const pass = r.nextUint32() % plan.blockSizes.length;
      const [x, y] = [r.nextUint32() % 1001, r.nextUint32() % 1001];
      const [start, end] = [Math.min(x, y), Math.max(x, y)];
      expect(oracle.parities(Int32Array.of(pass, start, end))[0]).toBe(parity(plan, pass, start, end));
    }
    expect(() => oracle.parities(Int32Array.of(plan.blockSizes.length, 0, 1))).toThrow(/outside the plan/);
    expect(() => oracle.parities(Int32Array.of(0, 5, 1001))).toThrow(/outside the plan/);
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

  it.each(CASCADE_VARIANTS)('%s stops with an error, not an endless search, when the answers fit no key', (variant) => {
    const { alice, bob, r } = frame(2000, 0.05, 3);
    const plan = planCascade(2000, 0.05, variant, r);
    const honest = keyParityOracle(alice, plan);
    const liar: ParityOracle = { parities: (queries) => honest.parities(queries).map((bit) => bit ^ 1) };
    expect(() => reconcile(bob, plan, liar)).toThrow(/inconsistent: 2001 corrections in a 2000-bit frame/);
  });

  it('names the mismatch when a key does not fit its plan', () => {
    const { alice, r } = frame(100, 0.05, 1);
    const plan = planCascade(100, 0.05, 'original', r);
    expect(() => reconcile(alice.slice(0, 50), plan, keyParityOracle(alice, plan))).toThrow(/50 bits, the plan 100/);
  });
});
