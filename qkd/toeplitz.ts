// Toeplitz hashing y = T x over GF(2), T the m x n matrix with T[i][j] = seed[i - j + n - 1]
// (constant along diagonals, so n + m - 1 seed bits define it). Each y_i is the parity of an
// integer convolution of seed and x, computed with a number-theoretic transform modulo the
// prime P = 11 * 2^21 + 1. Everything is integer arithmetic: every product of two residues is
// below 2^50, inside the 2^53 range where JavaScript numbers are exact integers, so no result is
// ever rounded. A convolution sum counts at most min(n, m) ones, which is below P, so its residue
// is the sum itself and its parity is exact.

const P = 23_068_673;
const MAX_TRANSFORM = 1 << 21;

const INVERSE_P = 1 / P;

/**
 * a b mod P for residues a, b. The product is an exact integer below 2^50; the quotient estimate
 * from the reciprocal is off by at most one, and the correction makes the remainder exact.
 */
const mulMod = (a: number, b: number): number => {
  const product = a * b;
  const remainder = product - Math.floor(product * INVERSE_P) * P;
  return remainder < 0 ? remainder + P : remainder >= P ? remainder - P : remainder;
};

const powMod = (base: number, exponent: number): number => {
  let [result, b, e] = [1, base, exponent];
  while (e > 0) {
    if (e & 1) result = mulMod(result, b);
    b = mulMod(b, b);
    e = Math.floor(e / 2);
  }
  return result;
};

/** The smallest generator of the multiplicative group mod P (P - 1 = 2^21 * 11). */
const GENERATOR = ((): number => {
  for (let g = 2; ; g++) if (powMod(g, (P - 1) / 2) !== 1 && powMod(g, (P - 1) / 11) !== 1) return g;
})();

/** In-place iterative NTT of length a power of two; inverse when `inverse` is set (without the 1/L scaling). */
const transform = (a: Float64Array, inverse: boolean): void => {
  const size = a.length;
  for (let i = 1, j = 0; i < size; i++) {
    let bit = size >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const held = a[i];
      a[i] = a[j];
      a[j] = held;
    }
  }
  const twiddles = new Float64Array(size >> 1);
  for (let len = 2; len <= size; len <<= 1) {
    const root = powMod(GENERATOR, (P - 1) / len);
    const step = inverse ? powMod(root, P - 2) : root;
    const half = len >> 1;
    twiddles[0] = 1;
    for (let k = 1; k < half; k++) twiddles[k] = mulMod(twiddles[k - 1], step);
    for (let start = 0; start < size; start += len) {
      for (let k = 0; k < half; k++) {
        const u = a[start + k];
        const v = mulMod(a[start + k + half], twiddles[k]);
        const sum = u + v;
        const difference = u - v;
        a[start + k] = sum >= P ? sum - P : sum;
        a[start + k + half] = difference < 0 ? difference + P : difference;
      }
    }
  }
};

/** Seed bits a Toeplitz matrix of m rows and n columns needs. */
export const toeplitzSeedLength = (inputBits: number, outputBits: number): number => inputBits + outputBits - 1;

/** The m-bit Toeplitz hash of `input` (bits 0/1) under `seed` (n + m - 1 bits 0/1). */
export const toeplitzHash = (seed: Uint8Array, input: Uint8Array, outputBits: number): Uint8Array => {
  const [n, m] = [input.length, outputBits];
  if (!Number.isInteger(m) || m < 1 || m > n) throw new RangeError(`Toeplitz output length must be an integer in [1, ${n}], got ${m}`);
  if (seed.length !== toeplitzSeedLength(n, m)) throw new RangeError(`Toeplitz seed must have n + m - 1 = ${toeplitzSeedLength(n, m)} bits, got ${seed.length}`);
  // A cyclic convolution of length L >= n + m - 1 leaves y's entries n - 1 .. n + m - 2 free of wrap-around.
  let size = 1;
  while (size < n + m - 1) size <<= 1;
  if (size > MAX_TRANSFORM) throw new RangeError(`Toeplitz hashing supports n + m - 1 <= ${MAX_TRANSFORM} bits, got ${n + m - 1}; hash the key in blocks`);
  const s = new Float64Array(size);
  const x = new Float64Array(size);
  for (let i = 0; i < seed.length; i++) s[i] = seed[i];
  for (let j = 0; j < n; j++) x[j] = input[j];
  transform(s, false);
  transform(x, false);
  for (let i = 0; i < size; i++) s[i] = mulMod(s[i], x[i]);
  transform(s, true);
  const scale = powMod(size, P - 2);
  const out = new Uint8Array(m);
  for (let i = 0; i < m; i++) out[i] = mulMod(s[i + n - 1], scale) & 1;
  return out;
};
