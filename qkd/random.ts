import { randomBytes } from 'node:crypto';

/** A source of uniform 32-bit words: seeded for reproducible tests, the OS CSPRNG otherwise. */
export interface RandomSource {
  nextUint32(): number;
}

/** splitmix32 spreads a small seed over the whole xoshiro state, so nearby seeds give unrelated streams. */
const splitmix32 = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
};

/** xoshiro128** (Blackman and Vigna): fast and statistically sound, but predictable: tests and simulation only. */
export const seededRandom = (seed: number): RandomSource => {
  const next = splitmix32(seed);
  let [a, b, c, d] = [next(), next(), next(), next()];
  return {
    nextUint32: () => {
      const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = rotl(d, 11);
      return result;
    },
  };
};

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** crypto.randomBytes read in chunks, so a per-pulse draw does not cost a system call. */
export const cryptoRandom = (): RandomSource => {
  const CHUNK_WORDS = 4096;
  let words = new Uint32Array(0);
  let used = 0;
  return {
    nextUint32: () => {
      if (used === words.length) {
        const bytes = randomBytes(CHUNK_WORDS * 4);
        words = new Uint32Array(bytes.buffer, bytes.byteOffset, CHUNK_WORDS);
        used = 0;
      }
      return words[used++];
    },
  };
};

/** A uniform number in [0, 1), for comparing against physical probabilities in the link simulation. */
export const uniform = (random: RandomSource): number => random.nextUint32() / 0x1_0000_0000;

const TWO_32 = 0x1_0000_0000;
const MAX_BOUND = 1 << 21;

/**
 * A uniform integer in [0, bound), unbiased (Lemire's multiply-and-reject), since the public
 * permutations and samples must be exactly uniform. word * bound stays below 2^53, where numbers
 * are exact integers, for bound <= 2^21; larger bounds are refused.
 */
export const below = (random: RandomSource, bound: number): number => {
  if (!Number.isInteger(bound) || bound < 1 || bound > MAX_BOUND) throw new RangeError(`bound must be an integer in [1, ${MAX_BOUND}], got ${bound}`);
  for (let threshold = -1; ; ) {
    const product = random.nextUint32() * bound;
    const high = Math.floor(product / TWO_32);
    const low = product - high * TWO_32;
    if (low >= bound) return high;
    if (threshold < 0) threshold = (TWO_32 - bound) % bound;
    if (low >= threshold) return high;
  }
};

/** n independent uniform bits, one per byte. */
export const randomBits = (random: RandomSource, n: number): Uint8Array => {
  const bits = new Uint8Array(n);
  for (let i = 0; i < n; i += 32) {
    const word = random.nextUint32();
    for (let b = 0; b < 32 && i + b < n; b++) bits[i + b] = (word >>> b) & 1;
  }
  return bits;
};

/** A uniform permutation of 0..n-1 (Fisher-Yates). */
export const randomPermutation = (random: RandomSource, n: number): Int32Array => {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = below(random, i + 1);
    const held = order[i];
    order[i] = order[j];
    order[j] = held;
  }
  return order;
};
