import { RandomSource, fillIdentity, indexFrom16, indexFrom32, randomSubset, seededRandom, shuffle } from '../../qkd/random';

/** How often each distinct result of `draw` came up in `trials` draws. */
const tally = (trials: number, draw: () => string): number[] => {
  const counts = new Map<string, number>();
  for (let t = 0; t < trials; t++) {
    const key = draw();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.values()];
};

const TWO_32 = 2 ** 32;

/** A source that hands out the given words, then fails, and counts those it has not handed out. */
const scripted = (words: number[]): RandomSource & { left(): number } => {
  let next = 0;
  return {
    nextUint32: () => {
      if (next === words.length) throw new Error('script exhausted');
      return words[next++];
    },
    left: () => words.length - next,
  };
};

/** The first 32-bit x that indexFrom32 maps to `index` or rejects, for `bound`: ceil(index * 2^32 / bound), exactly. */
const firstWordOf = (index: number, bound: number): number => {
  const target = index * TWO_32;
  let x = Math.ceil(target / bound);
  // Products stay below 2^53, so these comparisons are exact where the division may not be.
  while (x > 0 && (x - 1) * bound >= target) x--;
  while (x * bound < target) x++;
  return x;
};

/** n! */
const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

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

  it('draws every index below a 16-bit bound from exactly floor(2^16 / bound) of the 2^16 values', () => {
    for (const bound of [1, 2, 3, 5, 6, 7, 10, 100, 1000, 4097, 10_000, 32_768, 40_000, 65_535, 65_536]) {
      const counts = new Array<number>(bound).fill(0);
      let rejected = 0;
      for (let x = 0; x < 0x1_0000; x++) {
        const index = indexFrom16(x, bound);
        if (index < 0) rejected++;
        else counts[index]++;
      }
      expect(counts.every((c) => c === Math.floor(0x1_0000 / bound))).toBe(true);
      expect(rejected).toBe(0x1_0000 % bound);
    }
  });

  it('draws every index below a 32-bit bound from exactly floor(2^32 / bound) of the 2^32 words', () => {
    // The words that index h would take form the run [first(h), first(h + 1)); x * bound rises by
    // bound a step, so only a run's first word can have a low part below the threshold (< bound).
    // Every index of bounds up to 100,003, and the ends and middle of the largest bounds.
    const cases: [number, number, number][] = [1, 2, 3, 7, 1000, 10_000, 65_537, 100_003].map((b) => [b, 0, b]);
    for (const b of [(1 << 21) - 1, 1 << 21]) cases.push([b, 0, 2000], [b, (b >>> 1) - 1000, (b >>> 1) + 1000], [b, b - 2000, b]);
    for (const [bound, from, to] of cases) {
      let [rejected, exact] = [0, true];
      for (let index = from, first = firstWordOf(from, bound); index < to; index++) {
        const next = firstWordOf(index + 1, bound);
        const head = indexFrom32(first, bound);
        if (head < 0) rejected++;
        exact &&= (head === index || head === -1) && indexFrom32(first + 1, bound) === index && indexFrom32(next - 1, bound) === index;
        exact &&= next - first - (head < 0 ? 1 : 0) === Math.floor(TWO_32 / bound);
        first = next;
      }
      expect(exact).toBe(true);
      if (to - from === bound) expect(rejected).toBe(TWO_32 % bound);
    }
  });

  it('shuffles across the switch from whole-word to half-word draws', () => {
    const r = seededRandom(6);
    const n = (1 << 16) + 300;
    const isPermutation = (a: Int32Array) => Int32Array.from(a).sort().every((v, i) => v === i);
    expect(isPermutation(shuffle(r, fillIdentity(new Int32Array(n))))).toBe(true);
    const partial = shuffle(r, fillIdentity(new Int32Array(n)), 1000);
    expect(isPermutation(partial)).toBe(true);
  });

  it('chooses every subset of a size equally often: exact over all bits and picks', () => {
    // Every word of fair bits and every sequence of picks for small n. A pick is a word that
    // indexFrom32 maps to a position on the side with too many members (or too few); one on the
    // other side is redrawn, so each pick is uniform over its side, and a path has probability
    // 2^-n over the product of its sides' sizes. Times 2^n n! that is an integer: the sizes are
    // consecutive and at most n.
    const wordFor = (position: number, n: number) => Math.floor(((position + 0.5) * TWO_32) / n);
    for (let n = 1; n <= 7; n++) {
      const all = Array.from({ length: n }, (_, i) => i);
      for (let count = 0; count <= n; count++) {
        const weights = new Map<string, number>();
        let [unread, faithful] = [0, true];
        const walk = (bits: number, picks: number[], redraws: number[], members: number[], weight: number): void => {
          const surplus = members.length - count;
          if (surplus === 0) {
            // Each path twice: as drawn, and with a redrawn word before every pick that has one.
            for (const words of [picks, picks.flatMap((pick, i) => (redraws[i] < 0 ? [pick] : [redraws[i], pick]))]) {
              const source = scripted([bits, ...words.map((position) => wordFor(position, n))]);
              const mask = randomSubset(source, n, count);
              unread += source.left();
              faithful &&= all.filter((i) => (mask[0] >>> i) & 1).join() === members.join();
            }
            weights.set(members.join(), (weights.get(members.join()) ?? 0) + weight);
            return;
          }
          const side = all.filter((i) => members.includes(i) === surplus > 0);
          const other = all.find((i) => members.includes(i) !== surplus > 0) ?? -1;
          for (const position of side) {
            const next = surplus > 0 ? members.filter((m) => m !== position) : [...members, position].sort((x, y) => x - y);
            walk(bits, [...picks, position], [...redraws, other], next, weight / side.length);
          }
        };
        for (let bits = 0; bits < 1 << n; bits++) walk(bits, [], [], all.filter((i) => (bits >>> i) & 1), factorial(n));
        const subsets = factorial(n) / (factorial(count) * factorial(n - count));
        expect([unread, faithful, weights.size]).toEqual([0, true, subsets]);
        expect([...weights.values()].every((w) => w === (2 ** n * factorial(n)) / subsets)).toBe(true);
      }
    }
  });

  it('chooses subsets of any size of longer frames', () => {
    const r = seededRandom(5);
    for (const [n, count] of [[1000, 500], [1001, 501], [70, 0], [70, 70], [33, 1], [64, 60]]) {
      const mask = randomSubset(r, n, count);
      expect(mask).toHaveLength(Math.ceil(n / 32));
      const members = Array.from({ length: 32 * mask.length }, (_, i) => i).filter((i) => (mask[i >>> 5] >>> (i & 31)) & 1);
      expect(members.length).toBe(count);
      expect(members.every((i) => i < n)).toBe(true);
    }
    expect(() => randomSubset(r, 10, 11)).toThrow(/cannot choose 11 of 10/);
  });

  it('refuses shuffles too long for exact draws', () => {
    expect(() => shuffle(seededRandom(1), new Int32Array((1 << 21) + 1))).toThrow(/limited to 2097152 entries/);
  });
});
