// Toeplitz hashing y = T x over GF(2), T the m x n matrix with T[i][j] = seed[i - j + n - 1]
// (constant along diagonals, so n + m - 1 seed bits define it). Each y_i is the parity of an
// integer convolution of seed and x, computed with a number-theoretic transform (NTT) modulo the
// prime P = 25 * 2^22 + 1. A convolution sum counts at most n ones, fewer than P, so its residue
// is the sum itself and its parity is exact.
//
// The transforms, the pointwise products and the final scaling run in WebAssembly (qkd/ntt.wat,
// 128-bit SIMD): residues are u32 lanes kept lazily reduced below 16P < 2^32, products by
// constant twiddles use Shoup's precomputed quotients, products of two transforms a signed
// Montgomery reduction; ntt.wat's header proves each remainder exact and in range. No
// floating-point operation takes part. This module chooses the split and moves bits in and out.
//
// Speed: the input is split into parts so that the transforms are shorter (the parts' products
// add up in the transform domain, so there is still one inverse); seed and input parts are
// widened to residues inside WebAssembly memory, never as JavaScript numbers.

import { nttKernel } from './ntt';

const P = 104_857_601;
/** The kernels move residues in 4 x 4 blocks. */
const MIN_TRANSFORM = 16;
const MAX_TRANSFORM = 1 << 22;

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
  for (let size = MIN_TRANSFORM; size <= MAX_TRANSFORM; size <<= 1) {
    if (size < m + 1) continue;
    const parts = Math.ceil(n / (size - m + 1));
    const split = { parts, width: Math.ceil(n / parts), size };
    if (best === undefined || cost(split) < cost(best)) best = split;
  }
  if (best === undefined) throw new RangeError(`Toeplitz hashing supports at most ${MAX_TRANSFORM - 1} output bits, got ${m}; hash the key in blocks`);
  return best;
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
  // Wasm memory: tables, then the accumulator, the two transform arrays, the bits and the output.
  // It only grows, so the largest hash so far sizes it and later calls reuse it.
  const ntt = nttKernel();
  const bytes = 4 * size;
  const acc = ntt.prepare(size);
  const [a, b, seedAt] = [acc + bytes, acc + 2 * bytes, acc + 3 * bytes];
  const inputAt = seedAt + seed.length;
  const outAt = inputAt + n;
  ntt.ensure(outAt + m);
  const memory = new Uint8Array(ntt.memory.buffer);
  memory.set(seed, seedAt);
  memory.set(input, inputAt);
  /** Array residue i = byte src[i] for from <= i < to, 0 elsewhere. */
  const load = (at: number, src: number, from: number, to: number): void => {
    memory.fill(0, at, at + 4 * from);
    ntt.widen(at + 4 * from, src + from, to - from);
    memory.fill(0, at + 4 * to, at + bytes);
  };
  memory.fill(0, acc, acc + bytes);
  // Part t covers input bits [t w, (t + 1) w) and meets seed bits from n - (t + 1) w on.
  for (let t = 0; t < parts; t++) {
    const offset = n - (t + 1) * width;
    load(a, seedAt + offset, Math.max(0, -offset), m + width - 1);
    load(b, inputAt + t * width, 0, Math.min(width, n - t * width));
    ntt.forwardProduct(a, b, acc, size);
  }
  ntt.inverse(acc, size);
  // The inverse left the convolution reversed: c_k at (L - k) mod L, and c_(i + w - 1) is y_i's sum.
  ntt.parities(outAt, acc, size, size - width + 1, m);
  return memory.slice(outAt, outAt + m);
};
