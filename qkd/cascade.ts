import { RandomSource, randomPermutation } from './random';

// Cascade (Brassard and Salvail 1993) corrects Bob's key towards Alice's by comparing parities of
// blocks of shuffled bits and bisecting the blocks whose parities differ. Every parity Alice
// discloses goes through a ParityOracle, so the leakage and the round trips are counted where
// they happen. Bisections of one pass run in lockstep: one round trip per level for all blocks.
//
// Variants (schedules from Martinez-Mateo et al. 2015):
// - 'original': k1 = ceil(0.73 / Q), doubling, 4 passes.
// - 'optimized' (their option 7): k1 = 2^ceil(log2(1 / Q)), k2 = 4 k1, then n / 2, 14 passes; it
//   also remembers every parity Alice ever disclosed (hers never change) and derives a half's
//   parity from its parent and sibling, so a block bisected again costs nothing on known levels.

export type CascadeVariant = 'original' | 'optimized';

export const CASCADE_VARIANTS: readonly CascadeVariant[] = ['original', 'optimized'];

/** The public part of a reconciliation: both sides build it from the same seed and QBER estimate. */
export interface CascadePlan {
  readonly n: number;
  readonly variant: CascadeVariant;
  readonly blockSizes: readonly number[];
  /** permutations[p][j] is the key position at place j of pass p. */
  readonly permutations: readonly Int32Array[];
}

/** Alice's side: parities of her key over ranges of a pass's shuffled order. */
export interface ParityOracle {
  /** queries holds (pass, start, end) triples, end exclusive; the answer has one parity per triple. One call is one round trip. */
  parities(queries: Int32Array): Uint8Array;
}

export interface Reconciliation {
  readonly corrected: Uint8Array;
  readonly disclosedBits: number;
  readonly roundTrips: number;
}

const clampBlock = (k: number, n: number): number => Math.max(1, Math.min(n, Math.round(k)));

/** Block sizes per pass for a frame of n bits at estimated QBER q. */
export const blockSchedule = (n: number, qber: number, variant: CascadeVariant): number[] => {
  const q = Math.max(qber, 1 / n);
  if (variant === 'original') {
    const k1 = Math.ceil(0.73 / q);
    return [k1, 2 * k1, 4 * k1, 8 * k1].map((k) => clampBlock(k, n));
  }
  const k1 = 2 ** Math.ceil(Math.log2(1 / q));
  return [k1, 4 * k1, ...Array.from({ length: 12 }, () => n / 2)].map((k) => clampBlock(k, n));
};

export const planCascade = (n: number, qber: number, variant: CascadeVariant, random: RandomSource): CascadePlan => {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`Cascade needs a frame of at least 2 bits, got ${n}`);
  if (!(qber >= 0 && qber < 0.5)) throw new RangeError(`Cascade needs a QBER estimate in [0, 0.5), got ${qber}`);
  const blockSizes = blockSchedule(n, qber, variant);
  return { n, variant, blockSizes, permutations: blockSizes.map(() => randomPermutation(random, n)) };
};

const shuffled = (bits: Uint8Array, order: Int32Array): Uint8Array => {
  const out = new Uint8Array(order.length);
  for (let j = 0; j < order.length; j++) out[j] = bits[order[j]];
  return out;
};

const rangeParity = (bits: Uint8Array, start: number, end: number): number => {
  let parity = 0;
  for (let j = start; j < end; j++) parity ^= bits[j];
  return parity;
};

/** Alice's answers from her own key; in the pipeline they travel over the authenticated channel. */
export const keyParityOracle = (aliceKey: Uint8Array, plan: CascadePlan): ParityOracle => {
  if (aliceKey.length !== plan.n) throw new RangeError(`Alice's key has ${aliceKey.length} bits, the plan ${plan.n}`);
  const views = plan.permutations.map((order) => shuffled(aliceKey, order));
  return {
    parities: (queries) => {
      const answers = new Uint8Array(queries.length / 3);
      for (let i = 0; i < answers.length; i++) answers[i] = rangeParity(views[queries[3 * i]], queries[3 * i + 1], queries[3 * i + 2]);
      return answers;
    },
  };
};

interface Search {
  start: number;
  end: number;
  /** Heap index of [start, end) in its block's bisection tree: root 1, children 2i and 2i + 1. */
  node: number;
  /** Alice's parity of [start, end). */
  parity: number;
}

/** Bob's side: returns his corrected key and what it cost. */
export const reconcile = (bobKey: Uint8Array, plan: CascadePlan, oracle: ParityOracle): Reconciliation => {
  const { n, blockSizes, permutations } = plan;
  if (bobKey.length !== n) throw new RangeError(`Bob's key has ${bobKey.length} bits, the plan ${n}`);
  const reuse = plan.variant === 'optimized';
  const corrected = Uint8Array.from(bobKey);
  const views = permutations.map((order) => shuffled(bobKey, order));
  const places = permutations.map((order) => {
    const place = new Int32Array(n);
    for (let j = 0; j < n; j++) place[order[j]] = j;
    return place;
  });
  const blockParities: Uint8Array[] = [];
  const odd: Set<number>[] = [];
  // Alice's parities of sub-blocks, per pass, indexed by block * treeSize + heap index: -1 unknown.
  const treeSizes = blockSizes.map((k) => 2 << Math.ceil(Math.log2(k)));
  const known = reuse ? blockSizes.map((k, p) => new Int8Array(Math.ceil(n / k) * treeSizes[p]).fill(-1)) : [];
  let [disclosedBits, roundTrips] = [0, 0];

  const ask = (queries: number[]): Uint8Array => {
    const answers = oracle.parities(Int32Array.from(queries));
    if (answers.length * 3 !== queries.length) throw new Error(`parity oracle answered ${answers.length} of ${queries.length / 3} queries`);
    disclosedBits += answers.length;
    roundTrips++;
    return answers;
  };

  const flip = (position: number, passes: number): void => {
    corrected[position] ^= 1;
    for (let p = 0; p < views.length; p++) {
      const j = places[p][position];
      views[p][j] ^= 1;
      // Passes not started yet learn their odd blocks when they start.
      if (p >= passes) continue;
      const block = Math.floor(j / blockSizes[p]);
      if (!odd[p].delete(block)) odd[p].add(block);
    }
  };

  /** Bisects every odd block of one pass in lockstep and flips the bit each one finds. */
  const bisect = (pass: number, passes: number): void => {
    const k = blockSizes[pass];
    const tree = treeSizes[pass];
    const searches: Search[] = [...odd[pass]].map((b) => ({ start: b * k, end: Math.min(n, (b + 1) * k), node: b * tree + 1, parity: blockParities[pass][b] }));
    let open = searches.filter((s) => s.end - s.start > 1);
    while (open.length > 0) {
      const queries: number[] = [];
      const asking: Search[] = [];
      const lefts = new Map<Search, number>();
      for (const s of open) {
        const mid = (s.start + s.end) >>> 1;
        const base = s.node - (s.node % tree);
        const child = 2 * (s.node - base);
        const left = reuse ? known[pass][base + child] : -1;
        const right = reuse ? known[pass][base + child + 1] : -1;
        if (left >= 0) lefts.set(s, left);
        else if (right >= 0) lefts.set(s, right ^ s.parity);
        else {
          queries.push(pass, s.start, mid);
          asking.push(s);
        }
      }
      if (asking.length > 0) {
        const answers = ask(queries);
        asking.forEach((s, i) => lefts.set(s, answers[i]));
      }
      for (const s of open) {
        const mid = (s.start + s.end) >>> 1;
        const left = lefts.get(s) as number;
        const base = s.node - (s.node % tree);
        const child = base + 2 * (s.node - base);
        if (reuse) {
          known[pass][child] = left;
          known[pass][child + 1] = left ^ s.parity;
        }
        if (rangeParity(views[pass], s.start, mid) !== left) [s.end, s.node, s.parity] = [mid, child, left];
        else [s.start, s.node, s.parity] = [mid, child + 1, left ^ s.parity];
      }
      open = open.filter((s) => s.end - s.start > 1);
    }
    for (const s of searches) flip(permutations[pass][s.start], passes);
  };

  for (let pass = 0; pass < blockSizes.length; pass++) {
    const k = blockSizes[pass];
    const blocks = Math.ceil(n / k);
    const queries: number[] = [];
    for (let b = 0; b < blocks; b++) queries.push(pass, b * k, Math.min(n, (b + 1) * k));
    blockParities.push(ask(queries));
    const mismatched = new Set<number>();
    for (let b = 0; b < blocks; b++) {
      if (rangeParity(views[pass], b * k, Math.min(n, (b + 1) * k)) !== blockParities[pass][b]) mismatched.add(b);
    }
    odd.push(mismatched);
    // Cascade effect: a flip found in one pass makes blocks of earlier passes odd; settle the
    // pass with the smallest blocks first, as its bisections disclose least.
    for (;;) {
      let next = -1;
      for (let p = 0; p <= pass; p++) if (odd[p].size > 0 && (next < 0 || blockSizes[p] < blockSizes[next])) next = p;
      if (next < 0) break;
      bisect(next, pass + 1);
    }
  }
  return { corrected, disclosedBits, roundTrips };
};
