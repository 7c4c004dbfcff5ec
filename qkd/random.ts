import { randomFillSync } from 'node:crypto';

/** A source of uniform 32-bit words: seeded for reproducible tests, the OS CSPRNG otherwise. */
export interface RandomSource {
  nextUint32(): number;
}

const TWO_32 = 0x1_0000_0000;

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

/**
 * The next out.length words of xoshiro128** (Blackman and Vigna) from a four-word state, advanced
 * in place. Words come in batches so that hot loops read an array instead of calling per word.
 */
const xoshiro128 = (state: Int32Array, out: Uint32Array): void => {
  // Plain locals: V8 compiles this loop far worse around array destructuring.
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  const count = out.length;
  for (let i = 0; i < count; i++) {
    out[i] = Math.imul(rotl(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
  }
  state[0] = a;
  state[1] = b;
  state[2] = c;
  state[3] = d;
};

/** A generator's words handed out one at a time from batches of `fill`. */
const batched = (fill: (out: Uint32Array) => void, batch: number): RandomSource => {
  const words = new Uint32Array(batch);
  let used = batch;
  return {
    nextUint32: () => {
      if (used === batch) {
        fill(words);
        used = 0;
      }
      return words[used++];
    },
  };
};

/** xoshiro128**: fast and statistically sound, but predictable: tests and simulation only. */
export const seededRandom = (seed: number): RandomSource => {
  const next = splitmix32(seed);
  const state = Int32Array.of(next(), next(), next(), next());
  return batched((out) => xoshiro128(state, out), 64);
};

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** crypto.randomBytes read in chunks, so a per-pulse draw does not cost a system call. */
export const cryptoRandom = (): RandomSource => batched((out) => randomFillSync(out), 4096);

/** A uniform number in [0, 1), for comparing against physical probabilities in the link simulation. */
export const uniform = (random: RandomSource): number => random.nextUint32() / TWO_32;

/** n independent uniform bits, one per byte. */
export const randomBits = (random: RandomSource, n: number): Uint8Array => {
  const bits = new Uint8Array(n);
  for (let i = 0; i < n; i += 32) {
    const word = random.nextUint32();
    for (let b = 0; b < 32 && i + b < n; b++) bits[i + b] = (word >>> b) & 1;
  }
  return bits;
};

/** Shuffles and subsets draw indices below 2^21, so that a 32-bit word times the bound stays an exact integer (below 2^53). */
const MAX_SHUFFLE = 1 << 21;
const TWO_16 = 0x1_0000;
/** Words of a shuffle's stream, drawn in batches into one reused buffer. */
const SHUFFLE_BATCH = 1024;
const shuffleWords = new Uint32Array(SHUFFLE_BATCH);

// Indices are drawn by Lemire's multiply-and-reject: for x uniform over 2^w values and
// bound b <= 2^w, x * b spans b intervals of 2^w; the high part of x * b names the interval and
// the low part is the offset in it. Every interval holds floor(2^w / b) or one more of the x,
// and rejecting x whose low part is below 2^w mod b leaves exactly floor(2^w / b) in each, so an
// accepted index is exactly uniform. The threshold is below b, so it is computed (a division)
// only for the rare low part below b.

/** An index uniform in [0, bound) from a uniform 16-bit x, for bound <= 2^16; -1 when x must be redrawn. */
export const indexFrom16 = (x: number, bound: number): number => {
  // Below 2^32, so exact as a double; `& 0xffff` and `>>> 16` read its low and high halves.
  const product = x * bound;
  const low = product & 0xffff;
  return low < bound && low < TWO_16 % bound ? -1 : product >>> 16;
};

/** An index uniform in [0, bound) from a uniform 32-bit x, for bound <= 2^21; -1 when x must be redrawn. */
export const indexFrom32 = (x: number, bound: number): number => {
  const product = x * bound;
  const high = Math.floor(product * (1 / TWO_32));
  const low = product - high * TWO_32;
  return low < bound && low < (TWO_32 - bound) % bound ? -1 : high;
};

/** The first `wanted` words of the batch buffer, at least one, at most all: a short shuffle draws about what it needs. */
const batchOf = (wanted: number): Uint32Array => (wanted >= SHUFFLE_BATCH ? shuffleWords : shuffleWords.subarray(0, Math.max(1, wanted)));

/** Swaps entries[i] with entries[i + offset] (an index drawn for place i) and returns 1, or returns 0 for a rejected draw (-1). */
const step = (entries: Int32Array, i: number, offset: number): number => {
  if (offset < 0) return 0;
  const held = entries[i];
  entries[i] = entries[i + offset];
  entries[i + offset] = held;
  return 1;
};

/** Fisher-Yates steps [from, to) over entries, one 32-bit word per draw (bounds above 2^16). */
const wideSteps = (state: Int32Array, entries: Int32Array, from: number, to: number): void => {
  const n = entries.length;
  const words = batchOf(to - from);
  let used = words.length;
  for (let i = from; i < to; ) {
    if (used === words.length) {
      xoshiro128(state, words);
      used = 0;
    }
    i += step(entries, i, indexFrom32(words[used++], n - i));
  }
};

/**
 * Fisher-Yates steps [from, to) over entries with bounds at most 2^16: each word gives two
 * draws, its high half first, which halves the generator's work per draw.
 */
const narrowSteps = (state: Int32Array, entries: Int32Array, from: number, to: number): void => {
  const n = entries.length;
  const words = batchOf((to - from + 1) >>> 1);
  let used = words.length;
  for (let i = from; i < to; ) {
    if (used === words.length) {
      xoshiro128(state, words);
      used = 0;
    }
    const word = words[used++];
    i += step(entries, i, indexFrom16(word >>> 16, n - i));
    if (i < to) i += step(entries, i, indexFrom16(word & 0xffff, n - i));
  }
};

/**
 * Fisher-Yates over the first `count` places: afterwards entries [0, count) are a uniform random
 * ordered sample of the entries and [count, n) hold the rest in no particular order (by default
 * the whole array is shuffled). The draws come from a xoshiro128** stream seeded with 128 bits of
 * `random`: the orders are public, so they need a sound spread rather than secrecy, and a local
 * generator spares a call per draw (Cascade shuffles a frame 14 times).
 */
export const shuffle = (random: RandomSource, entries: Int32Array, count = entries.length): Int32Array => {
  const n = entries.length;
  if (n > MAX_SHUFFLE) throw new RangeError(`shuffles are limited to ${MAX_SHUFFLE} entries, got ${n}`);
  const state = Int32Array.of(random.nextUint32(), random.nextUint32(), random.nextUint32(), random.nextUint32());
  // The all-zero state is xoshiro's one fixed point.
  if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1;
  const last = Math.min(count, n - 1);
  // Place i draws below n - i: whole words while that exceeds 2^16, then half words.
  const wide = Math.max(0, Math.min(last, n - TWO_16));
  if (wide > 0) wideSteps(state, entries, 0, wide);
  if (last > wide) narrowSteps(state, entries, wide, last);
  return entries;
};

/**
 * A uniform random subset of `count` of the positions [0, n), as a mask: bit position & 31 of
 * word position >>> 5. For sets whose order can wait (or never matter) it costs a small part of
 * a shuffle: a fair bit per position (word w of `random` gives positions 32w to 32w + 31, lowest
 * bit first) makes a uniform random subset of any size; then picks uniform over the positions on
 * the side with too many (a uniform index, redrawn while it falls on the other side) move one at
 * a time across, about sqrt(n) of them when count is near n / 2. No step favours one position
 * over another: relabelling the positions leaves the distribution of the result unchanged, and
 * the one such distribution over subsets of a size is the uniform one.
 */
export const randomSubset = (random: RandomSource, n: number, count: number): Int32Array => {
  if (!(Number.isInteger(n) && n >= 0 && n <= MAX_SHUFFLE)) throw new RangeError(`subsets are of 0 to ${MAX_SHUFFLE} positions, got ${n}`);
  if (!(Number.isInteger(count) && count >= 0 && count <= n)) throw new RangeError(`cannot choose ${count} of ${n} positions`);
  const mask = new Int32Array((n + 31) >>> 5);
  let members = 0;
  for (let w = 0; w < mask.length; w++) {
    mask[w] = random.nextUint32() & wordMask(n, w);
    members += bitCount(mask[w]);
  }
  while (members !== count) {
    const position = indexFrom32(random.nextUint32(), n);
    if (position < 0) continue;
    const bit = 1 << (position & 31);
    const member = (mask[position >>> 5] & bit) !== 0;
    if (member === members > count) {
      mask[position >>> 5] ^= bit;
      members += member ? -1 : 1;
    }
  }
  return mask;
};

/** The bits of word w of a mask over n positions that stand for positions: all but the last word's top ones. */
export const wordMask = (n: number, w: number): number => (n - 32 * w >= 32 ? -1 : (1 << (n - 32 * w)) - 1);

/** The number of set bits of a 32-bit word. */
const bitCount = (x: number): number => {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
};

/** order[i] = i. */
export const fillIdentity = (order: Int32Array): Int32Array => {
  const n = order.length;
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
};
