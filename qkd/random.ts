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

/** Shuffles draw indices below 2^21, so that a 32-bit word times the bound stays an exact integer (below 2^53). */
const MAX_SHUFFLE = 1 << 21;
/** Words of a shuffle's stream, drawn in batches into one reused buffer. */
const SHUFFLE_BATCH = 1024;
const shuffleWords = new Uint32Array(SHUFFLE_BATCH);

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
  // A short shuffle draws about the words it needs, not a whole batch.
  const batch = Math.max(1, Math.min(SHUFFLE_BATCH, last));
  const words = batch === SHUFFLE_BATCH ? shuffleWords : shuffleWords.subarray(0, batch);
  let used = batch;
  for (let i = 0; i < last; i++) {
    // j uniform in [i, n) by Lemire's multiply-and-reject: the high word of word * (n - i), unless
    // the low word falls in the sliver that would bias it (probability below 2^-11), then redrawn.
    const bound = n - i;
    let j = -1;
    while (j < 0) {
      if (used === batch) {
        xoshiro128(state, words);
        used = 0;
      }
      const product = words[used++] * bound;
      const high = Math.floor(product * (1 / TWO_32));
      const low = product - high * TWO_32;
      if (low >= bound || low >= (TWO_32 - bound) % bound) j = i + high;
    }
    const held = entries[i];
    entries[i] = entries[j];
    entries[j] = held;
  }
  return entries;
};

/** order[i] = i. */
export const fillIdentity = (order: Int32Array): Int32Array => {
  const n = order.length;
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
};
