import { fillIdentity, seededRandom, shuffle } from '../../qkd/random';

/** How often each distinct result of `draw` came up in `trials` draws. */
const tally = (trials: number, draw: () => string): number[] => {
  const counts = new Map<string, number>();
  for (let t = 0; t < trials; t++) {
    const key = draw();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.values()];
};

/** Pearson's statistic against equal expected counts over `cells` outcomes. */
const chiSquare = (counts: number[], cells: number, trials: number): number =>
  counts.reduce((sum, c) => sum + (c - trials / cells) ** 2 / (trials / cells), 0) + (cells - counts.length) * (trials / cells);

describe('random', () => {
  it('repeats a stream for the same seed and differs for another', () => {
    const [a, b, c] = [seededRandom(1), seededRandom(1), seededRandom(2)];
    const draw = (r: ReturnType<typeof seededRandom>) => Array.from({ length: 8 }, () => r.nextUint32());
    const first = draw(a);
    expect(draw(b)).toEqual(first);
    expect(draw(c)).not.toEqual(first);
  });

  it('hands out xoshiro128** words unchanged by drawing them in batches', () => {
    const r = seededRandom(1);
    expect(Array.from({ length: 6 }, () => r.nextUint32())).toEqual([2442144158, 3238099751, 3819917871, 2104621829, 2021136066, 4223536128]);
  });

  it('shuffles into a permutation, and a partial shuffle keeps the other entries', () => {
    const r = seededRandom(3);
    const sorted = (a: Int32Array) => [...a].sort((x, y) => x - y);
    expect(sorted(shuffle(r, fillIdentity(new Int32Array(1000))))).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    const partial = shuffle(r, Int32Array.from({ length: 500 }, (_, i) => 3 * i), 100);
    expect(sorted(partial)).toEqual(Array.from({ length: 500 }, (_, i) => 3 * i));
  });

  it('draws every order of a small array, and every ordered sample, equally often', () => {
    const r = seededRandom(4);
    // 6 orders of 3 entries and 20 ordered pairs from 5: chi-square below the 0.1% points (20.5, 43.8).
    const orders = tally(6000, () => shuffle(r, fillIdentity(new Int32Array(3))).join());
    expect(orders).toHaveLength(6);
    expect(chiSquare(orders, 6, 6000)).toBeLessThan(20.5);
    const pairs = tally(10_000, () => shuffle(r, fillIdentity(new Int32Array(5)), 2).slice(0, 2).join());
    expect(pairs).toHaveLength(20);
    expect(chiSquare(pairs, 20, 10_000)).toBeLessThan(43.8);
  });

  it('refuses shuffles too long for exact draws', () => {
    expect(() => shuffle(seededRandom(1), new Int32Array((1 << 21) + 1))).toThrow(/limited to 2097152 entries/);
  });
});
