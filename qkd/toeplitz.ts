// Toeplitz hashing y = T x over GF(2), T the m x n matrix with T[i][j] = seed[i - j + n - 1]
// (constant along diagonals, so n + m - 1 seed bits define it). Each y_i is the parity of an
// integer convolution of seed and x, computed with a number-theoretic transform (NTT) modulo the
// prime P = 25 * 2^22 + 1. A convolution sum counts at most n ones, fewer than P, so its residue
// is the sum itself and its parity is exact.
//
// Exactness of the arithmetic: residues are kept in Int32Array, lazily reduced (below 4P or 8P,
// every intermediate below 2^31). x w mod P takes q = trunc(x w R), R the reciprocal of P rounded
// down by a relative 2^-45: float rounding (four roundings of 2^-53) can neither lift q above
// floor(x w / P) nor drop it by more than one while x w / P < 2^31, and Math.imul gives the low
// 32 bits of x w - q P exactly, which then lies in [0, 2P). No floating-point result decides a bit.
//
// Speed: radix-4 stages; the transforms of seed and input run together, sharing twiddles, and
// their last stage feeds the pointwise product; the inverse is the forward decimation-in-time
// transform read at -i mod L, so one table of roots serves both directions; the input is split
// into parts so that the transforms are shorter (the parts' products add up in the transform
// domain, so there is still one inverse).

const P = 104_857_601;
const P2 = 2 * P;
const P4 = 4 * P;
const P8 = 8 * P;
const LOW_INVERSE = (1 / P) * (1 - 2 ** -45);
const MAX_TRANSFORM = 1 << 22;

/** a b mod P, fully reduced, for a < 8P and b < P. */
const mulMod = (a: number, b: number): number => {
  const r = (Math.imul(a, b) - Math.imul((a * b * LOW_INVERSE) | 0, P) - P) | 0;
  return r + ((r >> 31) & P);
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

/** The smallest generator of the multiplicative group mod P (P - 1 = 2^22 * 5^2). */
const GENERATOR = ((): number => {
  for (let g = 2; ; g++) if (powMod(g, (P - 1) / 2) !== 1 && powMod(g, (P - 1) / 5) !== 1) return g;
})();

/** J = a primitive 4th root of unity, which every radix-4 butterfly multiplies by. */
const J = powMod(GENERATOR, (P - 1) / 4);
const J_LOW = J * LOW_INVERSE;

/** Per radix-4 stage of quarter q (index log2 q): w^k, w^2k, w^3k for k < q, w a primitive 4q-th root; built on first use. */
const stageRoots: Int32Array[] = [];

const rootsOf = (q: number): Int32Array => {
  const level = 31 - Math.clz32(q);
  if (stageRoots[level] === undefined) {
    const w = powMod(GENERATOR, (P - 1) / (4 * q));
    const roots = new Int32Array(3 * q);
    for (let k = 0, x = 1; k < q; k++, x = mulMod(x, w)) {
      roots[3 * k] = x;
      roots[3 * k + 1] = mulMod(x, x);
      roots[3 * k + 2] = mulMod(roots[3 * k + 1], x);
    }
    stageRoots[level] = roots;
  }
  return stageRoots[level];
};

/** x in [0, 16P) reduced to [0, 8P). */
const below8P = (x: number): number => {
  const y = x - P8;
  return y + ((y >> 31) & P8);
};

/** x in [0, 16P) reduced to [0, 4P). */
const below4P = (x: number): number => {
  const y = below8P(x) - P4;
  return y + ((y >> 31) & P4);
};

/** acc + x y mod P for acc < 8P and x, y < 4P, left in [0, 8P). */
const addProduct = (acc: number, x: number, y: number): number => {
  const sum = acc + ((Math.imul(x, y) - Math.imul((x * y * LOW_INVERSE) | 0, P)) | 0) - P8;
  return sum + ((sum >> 31) & P8);
};

/**
 * One decimation-in-frequency radix-4 stage of quarter q on a and b alike (values below 4P in
 * and out): (x0, x1, x2, x3) -> (t0 + t2, (t0 - t2) w^2k, (t1 + t3) w^k, (t1 - t3) w^3k) with
 * t0 = x0 + x2, t1 = x0 - x2, t2 = x1 + x3, t3 = (x1 - x3) J. The butterfly is written out for
 * each array: they share the twiddles, and V8 does not reliably inline a helper called twice here
 * (either costs about a tenth of the hashing time).
 */
const difStage = (a: Int32Array, b: Int32Array, q: number): void => {
  const roots = rootsOf(q);
  const size = a.length;
  for (let start = 0; start < size; start += 4 * q) {
    for (let k = 0; k < q; k++) {
      const i0 = start + k;
      const i1 = i0 + q;
      const i2 = i1 + q;
      const i3 = i2 + q;
      const w1 = roots[3 * k];
      const w2 = roots[3 * k + 1];
      const w3 = roots[3 * k + 2];
      const f1 = w1 * LOW_INVERSE;
      const f2 = w2 * LOW_INVERSE;
      const f3 = w3 * LOW_INVERSE;
      {
        const x0 = a[i0];
        const x1 = a[i1];
        const x2 = a[i2];
        const x3 = a[i3];
        const t0 = x0 + x2;
        const t1 = x0 - x2 + P4;
        const t2 = x1 + x3;
        const d = x1 - x3 + P4;
        const t3 = (Math.imul(d, J) - Math.imul((d * J_LOW) | 0, P)) | 0;
        const e1 = t0 - t2 + P8;
        const e2 = t1 + t3;
        const e3 = t1 - t3 + P2;
        a[i0] = below4P(t0 + t2);
        a[i1] = Math.imul(e1, w2) - Math.imul((e1 * f2) | 0, P);
        a[i2] = Math.imul(e2, w1) - Math.imul((e2 * f1) | 0, P);
        a[i3] = Math.imul(e3, w3) - Math.imul((e3 * f3) | 0, P);
      }
      {
        const x0 = b[i0];
        const x1 = b[i1];
        const x2 = b[i2];
        const x3 = b[i3];
        const t0 = x0 + x2;
        const t1 = x0 - x2 + P4;
        const t2 = x1 + x3;
        const d = x1 - x3 + P4;
        const t3 = (Math.imul(d, J) - Math.imul((d * J_LOW) | 0, P)) | 0;
        const e1 = t0 - t2 + P8;
        const e2 = t1 + t3;
        const e3 = t1 - t3 + P2;
        b[i0] = below4P(t0 + t2);
        b[i1] = Math.imul(e1, w2) - Math.imul((e1 * f2) | 0, P);
        b[i2] = Math.imul(e2, w1) - Math.imul((e2 * f1) | 0, P);
        b[i3] = Math.imul(e3, w3) - Math.imul((e3 * f3) | 0, P);
      }
    }
  }
};

/** The last DIF stage when log2 L is even (quarter 1: every twiddle is 1), each output pair multiplied into acc. */
const difLastQuarterProduct = (a: Int32Array, b: Int32Array, acc: Int32Array): void => {
  const size = a.length;
  for (let i = 0; i < size; i += 4) {
    const a0 = a[i];
    const a1 = a[i + 1];
    const a2 = a[i + 2];
    const a3 = a[i + 3];
    const b0 = b[i];
    const b1 = b[i + 1];
    const b2 = b[i + 2];
    const b3 = b[i + 3];
    const ad = a1 - a3 + P4;
    const bd = b1 - b3 + P4;
    const at0 = a0 + a2;
    const at1 = a0 - a2 + P4;
    const at2 = a1 + a3;
    const at3 = (Math.imul(ad, J) - Math.imul((ad * J_LOW) | 0, P)) | 0;
    const bt0 = b0 + b2;
    const bt1 = b0 - b2 + P4;
    const bt2 = b1 + b3;
    const bt3 = (Math.imul(bd, J) - Math.imul((bd * J_LOW) | 0, P)) | 0;
    acc[i] = addProduct(acc[i], below4P(at0 + at2), below4P(bt0 + bt2));
    acc[i + 1] = addProduct(acc[i + 1], below4P(at0 - at2 + P8), below4P(bt0 - bt2 + P8));
    acc[i + 2] = addProduct(acc[i + 2], below4P(at1 + at3), below4P(bt1 + bt3));
    acc[i + 3] = addProduct(acc[i + 3], below4P(at1 - at3 + P2), below4P(bt1 - bt3 + P2));
  }
};

/** The last DIF level when log2 L is odd (radix 2, twiddle 1), each output pair multiplied into acc. */
const difLastPairProduct = (a: Int32Array, b: Int32Array, acc: Int32Array): void => {
  const size = a.length;
  for (let i = 0; i < size; i += 2) {
    acc[i] = addProduct(acc[i], below4P(a[i] + a[i + 1]), below4P(b[i] + b[i + 1]));
    acc[i + 1] = addProduct(acc[i + 1], below4P(a[i] - a[i + 1] + P4), below4P(b[i] - b[i + 1] + P4));
  }
};

/** acc += NTT(a) NTT(b) pointwise, in the transforms' digit-reversed order; a and b are overwritten. */
const accumulateProduct = (a: Int32Array, b: Int32Array, acc: Int32Array): void => {
  let q = a.length >> 2;
  for (; q > 1; q >>= 2) difStage(a, b, q);
  if (q === 1) difLastQuarterProduct(a, b, acc);
  else difLastPairProduct(a, b, acc);
};

/**
 * One decimation-in-time radix-4 stage of quarter q (values below 8P in and out), the transpose of
 * difStage: with A1 = x1 w^2k, A2 = x2 w^k, A3 = x3 w^3k, s0 = x0 + A1, s1 = x0 - A1,
 * s2 = A2 + A3, s3 = (A2 - A3) J: (x0, x1, x2, x3) -> (s0 + s2, s1 + s3, s0 - s2, s1 - s3).
 */
const ditStage = (a: Int32Array, q: number): void => {
  const roots = rootsOf(q);
  const size = a.length;
  for (let start = 0; start < size; start += 4 * q) {
    for (let k = 0; k < q; k++) {
      const i = start + k;
      const w1 = roots[3 * k];
      const w2 = roots[3 * k + 1];
      const w3 = roots[3 * k + 2];
      const x0 = a[i];
      const x1 = a[i + q];
      const x2 = a[i + 2 * q];
      const x3 = a[i + 3 * q];
      const a1 = (Math.imul(x1, w2) - Math.imul((x1 * w2 * LOW_INVERSE) | 0, P)) | 0;
      const a2 = (Math.imul(x2, w1) - Math.imul((x2 * w1 * LOW_INVERSE) | 0, P)) | 0;
      const a3 = (Math.imul(x3, w3) - Math.imul((x3 * w3 * LOW_INVERSE) | 0, P)) | 0;
      const s0 = x0 + a1;
      const s1 = x0 - a1 + P2;
      const s2 = a2 + a3;
      const d = a2 - a3 + P2;
      const s3 = (Math.imul(d, J) - Math.imul((d * J_LOW) | 0, P)) | 0;
      a[i] = below8P(s0 + s2);
      a[i + q] = below8P(s1 + s3);
      a[i + 2 * q] = below8P(s0 - s2 + P4);
      a[i + 3 * q] = below8P(s1 - s3 + P2);
    }
  }
};

/** The first DIT stage when log2 L is even (quarter 1, twiddles 1). */
const ditFirstQuarter = (a: Int32Array): void => {
  const size = a.length;
  for (let i = 0; i < size; i += 4) {
    const s0 = below8P(a[i] + a[i + 1]);
    const s1 = below8P(a[i] - a[i + 1] + P8);
    const s2 = below8P(a[i + 2] + a[i + 3]);
    const d = a[i + 2] - a[i + 3] + P8;
    const s3 = (Math.imul(d, J) - Math.imul((d * J_LOW) | 0, P)) | 0;
    a[i] = below8P(s0 + s2);
    a[i + 1] = below8P(s1 + s3);
    a[i + 2] = below8P(s0 - s2 + P8);
    a[i + 3] = below8P(s1 - s3 + P2);
  }
};

/** The first DIT level when log2 L is odd (radix 2, twiddle 1). */
const ditFirstPair = (a: Int32Array): void => {
  const size = a.length;
  for (let i = 0; i < size; i += 2) {
    const x0 = a[i];
    const x1 = a[i + 1];
    a[i] = below8P(x0 + x1);
    a[i + 1] = below8P(x0 - x1 + P8);
  }
};

/** The DIT transform from digit-reversed to natural order: NTT(a)[i] lands at i (values below 8P). */
const ditTransform = (a: Int32Array): void => {
  const odd = (31 - Math.clz32(a.length)) & 1;
  if (odd) ditFirstPair(a);
  else ditFirstQuarter(a);
  for (let q = odd ? 2 : 4; q < a.length; q <<= 2) ditStage(a, q);
};

interface Split {
  readonly parts: number;
  /** Input bits per part. */
  readonly width: number;
  /** Transform length. */
  readonly size: number;
}

/**
 * A middle product of m outputs from w input bits needs a cyclic convolution of length
 * L >= m + w - 1 (the wrap-around then only touches outputs nobody reads). Splitting the input
 * into p parts costs 2p + 1 transforms of length L >= m + ceil(n / p) - 1; the cheapest wins.
 */
const chooseSplit = (n: number, m: number): Split => {
  const cost = (s: Split): number => (2 * s.parts + 1) * s.size * Math.log2(s.size);
  let best: Split | undefined;
  for (let size = 4; size <= MAX_TRANSFORM; size <<= 1) {
    if (size < m + 1) continue;
    const parts = Math.ceil(n / (size - m + 1));
    const split = { parts, width: Math.ceil(n / parts), size };
    if (best === undefined || cost(split) < cost(best)) best = split;
  }
  if (best === undefined) throw new RangeError(`Toeplitz hashing supports at most ${MAX_TRANSFORM - 1} output bits, got ${m}; hash the key in blocks`);
  return best;
};

/**
 * Three arrays of `size` residues (the first zeroed), carved from one buffer that the largest hash
 * so far sized and later calls reuse: hashing a long key would otherwise hand the garbage
 * collector megabytes of external memory per call, and such allocations force full collections.
 */
let buffer = new Int32Array(0);
const workspace = (size: number): [Int32Array, Int32Array, Int32Array] => {
  if (buffer.length < 3 * size) buffer = new Int32Array(3 * size);
  const acc = buffer.subarray(0, size).fill(0);
  return [acc, buffer.subarray(size, 2 * size), buffer.subarray(2 * size, 3 * size)];
};

/** Seed bits a Toeplitz matrix of m rows and n columns needs. */
export const toeplitzSeedLength = (inputBits: number, outputBits: number): number => inputBits + outputBits - 1;

/** The m-bit Toeplitz hash of `input` (bits 0/1) under `seed` (n + m - 1 bits 0/1). */
export const toeplitzHash = (seed: Uint8Array, input: Uint8Array, outputBits: number): Uint8Array => {
  const [n, m] = [input.length, outputBits];
  if (!Number.isInteger(m) || m < 1 || m > n) throw new RangeError(`Toeplitz output length must be an integer in [1, ${n}], got ${m}`);
  if (seed.length !== toeplitzSeedLength(n, m)) throw new RangeError(`Toeplitz seed must have n + m - 1 = ${toeplitzSeedLength(n, m)} bits, got ${seed.length}`);
  if (n >= P) throw new RangeError(`Toeplitz hashing supports inputs below ${P} bits, got ${n}; hash the key in blocks`);
  const { parts, width, size } = chooseSplit(n, m);
  const [acc, a, b] = workspace(size);
  // Part t covers input bits [t w, (t + 1) w) and meets seed bits from n - (t + 1) w on.
  for (let t = 0; t < parts; t++) {
    const offset = n - (t + 1) * width;
    a.fill(0);
    b.fill(0);
    for (let r = Math.max(0, -offset); r < m + width - 1; r++) a[r] = seed[r + offset];
    for (let j = 0; j < width && t * width + j < n; j++) b[j] = input[t * width + j];
    accumulateProduct(a, b, acc);
  }
  ditTransform(acc);
  // The DIT computed L times the convolution reversed: entry (L - k) mod L holds L c_k, and
  // c_(i + w - 1) is y_i's sum.
  const scale = powMod(size, P - 2);
  const out = new Uint8Array(m);
  for (let i = 0; i < m; i++) out[i] = mulMod(acc[(size - (i + width - 1)) & (size - 1)], scale) & 1;
  return out;
};
