import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { finalKeyLength } from '../../qkd/amplification';
import { binaryEntropy } from '../../qkd/entropy';
import { randomBits, seededRandom } from '../../qkd/random';
import { toeplitzHash, toeplitzSeedLength } from '../../qkd/toeplitz';
import { chooseVerificationHash, tagsMatch, verificationTag } from '../../qkd/verification';

/** y_i = XOR_j T[i][j] x_j with T[i][j] = seed[i - j + n - 1]. */
const naiveRow = (seed: Uint8Array, x: Uint8Array, i: number): number => {
  let bit = 0;
  for (let j = 0; j < x.length; j++) bit ^= seed[i - j + x.length - 1] & x[j];
  return bit;
};

const naive = (seed: Uint8Array, x: Uint8Array, m: number): number[] => Array.from({ length: m }, (_, i) => naiveRow(seed, x, i));

describe('Toeplitz hashing', () => {
  it('matches a bit-by-bit matrix multiplication on random small inputs', () => {
    const r = seededRandom(21);
    for (let t = 0; t < 200; t++) {
      const n = 1 + (r.nextUint32() % 300);
      const m = 1 + (r.nextUint32() % n);
      const [seed, x] = [randomBits(r, toeplitzSeedLength(n, m)), randomBits(r, n)];
      expect(Array.from(toeplitzHash(seed, x, m))).toEqual(naive(seed, x, m));
    }
  });

  it('matches it at awkward sizes: single bits, square matrices, odd and even transform lengths, inputs split into parts', () => {
    const r = seededRandom(22);
    const sizes = [[1, 1], [2, 2], [3, 1], [7, 7], [33, 32], [257, 3], [1000, 1], [1023, 1023], [1500, 700], [2049, 1024], [4097, 64], [3001, 2999], [6000, 17]];
    for (const [n, m] of sizes) {
      const [seed, x] = [randomBits(r, toeplitzSeedLength(n, m)), randomBits(r, n)];
      expect(Array.from(toeplitzHash(seed, x, m))).toEqual(naive(seed, x, m));
    }
  });

  it('stays exact where convolution sums are large', () => {
    const [n, m] = [4000, 3000];
    const ones = new Uint8Array(n).fill(1);
    const seed = new Uint8Array(n + m - 1).fill(1);
    expect(Array.from(toeplitzHash(seed, ones, m))).toEqual(naive(seed, ones, m));
  });

  it('stays exact where large sums from several parts add up', () => {
    const [n, m] = [20_000, 100];
    const ones = new Uint8Array(n).fill(1);
    const seed = new Uint8Array(n + m - 1).fill(1);
    seed[n - 1] = 0;
    expect(Array.from(toeplitzHash(seed, ones, m))).toEqual(naive(seed, ones, m));
  });

  it('matches it on sampled rows at transform lengths 2^16 to 2^22, where stages sweep arrays larger than a cache block', () => {
    const r = seededRandom(23);
    // Lengths 2^16, 2^17 (odd: a radix-2 stage first), 2^17 in four parts, 2^20 (the benchmark's), 2^21, 2^22 (the largest).
    const sizes = [[40_000, 30_000], [100_000, 50_000], [300_000, 40_000], [1_000_000, 500_000], [1_500_000, 1_000_000], [4_194_303, 2_097_152]];
    for (const [n, m] of sizes) {
      const [seed, x] = [randomBits(r, toeplitzSeedLength(n, m)), randomBits(r, n)];
      const y = toeplitzHash(seed, x, m);
      const rows = [0, 1, m - 1, ...Array.from({ length: 20 }, () => r.nextUint32() % m)];
      expect(rows.map((i) => y[i])).toEqual(rows.map((i) => naiveRow(seed, x, i)));
    }
  });

  it('stays exact on every row of a 10^6-bit hash with large sums', () => {
    // With x all ones, y_i is the parity of seed[i .. i + n - 1], which a sliding window gives; a dense
    // seed makes the convolution sums near n.
    const [n, m] = [1_000_000, 500_000];
    const r = seededRandom(24);
    const seed = Uint8Array.from({ length: toeplitzSeedLength(n, m) }, () => (r.nextUint32() % 10 === 0 ? 0 : 1));
    const ones = new Uint8Array(n).fill(1);
    let windowParity = seed.subarray(0, n).reduce((p, bit) => p ^ bit, 0);
    const expected = new Uint8Array(m);
    for (let i = 0; i < m; i++) {
      expected[i] = windowParity;
      windowParity ^= seed[i] ^ seed[i + n];
    }
    expect(Buffer.from(toeplitzHash(seed, ones, m)).equals(Buffer.from(expected))).toBe(true);
  });

  it('runs committed WebAssembly that is the compiled qkd/ntt.wat', () => {
    const check = spawnSync(process.execPath, [path.join(__dirname, '..', '..', 'scripts', 'build-ntt.js'), '--check'], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('rejects a seed of the wrong length', () => {
    expect(() => toeplitzHash(new Uint8Array(5), new Uint8Array(4), 3)).toThrow(/n \+ m - 1 = 6/);
  });
});

describe('verification', () => {
  it('catches a deliberately wrong correction and passes a right one', () => {
    const r = seededRandom(5);
    const key = randomBits(r, 5000);
    const hash = chooseVerificationHash(key.length, r);
    const wrong = Uint8Array.from(key);
    wrong[17] ^= 1;
    wrong[4000] ^= 1;
    expect(tagsMatch(verificationTag(key, hash), verificationTag(Uint8Array.from(key), hash))).toBe(true);
    expect(tagsMatch(verificationTag(key, hash), verificationTag(wrong, hash))).toBe(false);
  });
});

describe('final key length', () => {
  it('follows l = floor(n (1 - h(Q_U)) - leak_EC - leak_verify - 2 log2(1 / eps_PA))', () => {
    const inputs = { reconciledBits: 100_000, qberUpperBound: 0.03, disclosedParityBits: 21_000, verificationBits: 64, epsilonPA: 1e-10 };
    const expected = Math.floor(100_000 * (1 - binaryEntropy(0.03)) - 21_000 - 64 - 2 * Math.log2(1e10));
    expect(finalKeyLength(inputs)).toBe(expected);
    expect(finalKeyLength({ ...inputs, disclosedParityBits: 90_000 })).toBe(0);
  });
});
