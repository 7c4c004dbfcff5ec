import { RandomSource, fillIdentity, shuffle } from './random';

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
//
// Speed: a frame is reshuffled once per pass, so the per-bit work of a pass (drawing the
// permutation, Alice's prefix parities, Bob's packed view) is kept to a few typed-array loops,
// skipped where a pass does not need it (a last block is only ordered once it is bisected, a
// two-block pass only packed then), and the bisections work on flat typed arrays rather than
// objects, maps and sets.

export type CascadeVariant = 'original' | 'optimized';

export const CASCADE_VARIANTS: readonly CascadeVariant[] = ['original', 'optimized'];

/** The public part of a reconciliation: both sides build it from the same seed and QBER estimate. */
export interface CascadePlan {
  readonly n: number;
  readonly variant: CascadeVariant;
  readonly blockSizes: readonly number[];
  /**
   * permutations[p][j] is the key position at place j of pass p. The last block's places hold its
   * positions in an order fixed only by settleLastBlock(p): block parities do not depend on it and
   * most passes never bisect that block, so its shuffle waits.
   */
  readonly permutations: readonly Int32Array[];
  /** Shuffles pass p's last block from the pass's own seed, the same on both sides; later calls do nothing. */
  settleLastBlock(pass: number): void;
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

/** The first place of the last block of a pass with blocks of k. */
const lastBlockStart = (n: number, k: number): number => (Math.ceil(n / k) - 1) * k;

export const planCascade = (n: number, qber: number, variant: CascadeVariant, random: RandomSource): CascadePlan => {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`Cascade needs a frame of at least 2 bits, got ${n}`);
  if (!(qber >= 0 && qber < 0.5)) throw new RangeError(`Cascade needs a QBER estimate in [0, 0.5), got ${qber}`);
  const blockSizes = blockSchedule(n, qber, variant);
  const orders = new Int32Array(blockSizes.length * n);
  const permutations = blockSizes.map((k, p) => shuffle(random, fillIdentity(orders.subarray(p * n, (p + 1) * n)), lastBlockStart(n, k)));
  const lastBlockSeeds = Uint32Array.from({ length: 4 * blockSizes.length }, () => random.nextUint32());
  const settled = new Uint8Array(blockSizes.length);
  const settleLastBlock = (pass: number): void => {
    if (settled[pass]) return;
    settled[pass] = 1;
    let word = 4 * pass;
    shuffle({ nextUint32: () => lastBlockSeeds[word++] }, permutations[pass].subarray(lastBlockStart(n, blockSizes[pass])));
  };
  return { n, variant, blockSizes, permutations, settleLastBlock };
};

/** Parity of `key` over places [start, end) of a pass's order. */
const gatherParity = (key: Uint8Array, order: Int32Array, start: number, end: number): number => {
  let parity = 0;
  for (let j = start; j < end; j++) parity ^= key[order[j]];
  return parity;
};

/**
 * Alice's answers from her own key; in the pipeline they travel over the authenticated channel.
 * For a pass she is bisecting, or will (one of more than two blocks always is), she keeps prefix
 * parities, with which any range costs two reads; the whole-block parities of other passes she
 * reads directly. A range inside a last block first settles that block's order.
 */
export const keyParityOracle = (aliceKey: Uint8Array, plan: CascadePlan): ParityOracle => {
  const { n, blockSizes, permutations } = plan;
  if (aliceKey.length !== n) throw new RangeError(`Alice's key has ${aliceKey.length} bits, the plan ${n}`);
  const prefixes: (Uint8Array | undefined)[] = [];
  const settled = new Uint8Array(permutations.length);
  const lastStarts = blockSizes.map((k) => lastBlockStart(n, k));
  /** prefix[j + 1] = parity of places [0, j] of the pass's order, rewritten from place `from` on. */
  const extendPrefix = (prefix: Uint8Array, order: Int32Array, from: number): Uint8Array => {
    for (let j = from; j < n; j++) prefix[j + 1] = prefix[j] ^ aliceKey[order[j]];
    return prefix;
  };
  return {
    parities: (queries) => {
      const answers = new Uint8Array(queries.length / 3);
      for (let i = 0; i < answers.length; i++) {
        const pass = queries[3 * i];
        const start = queries[3 * i + 1];
        const end = queries[3 * i + 2];
        if (!(pass >= 0 && pass < permutations.length && start >= 0 && start <= end && end <= n)) throw new RangeError(`parity query ${i} (pass ${pass}, [${start}, ${end})) is outside the plan`);
        const k = blockSizes[pass];
        const order = permutations[pass];
        const last = lastStarts[pass];
        let prefix = prefixes[pass];
        const wholeBlock = start % k === 0 && end === Math.min(n, start + k);
        if (prefix === undefined && (!wholeBlock || n > 2 * k)) prefix = prefixes[pass] = extendPrefix(new Uint8Array(n + 1), order, 0);
        if (!settled[pass] && end > last && (start > last || end < n)) {
          settled[pass] = 1;
          plan.settleLastBlock(pass);
          if (prefix !== undefined) extendPrefix(prefix, order, last);
        }
        answers[i] = prefix === undefined ? gatherParity(aliceKey, order, start, end) : prefix[start] ^ prefix[end];
      }
      return answers;
    },
  };
};

/** Parity of a 32-bit word: fold to a nibble, then look it up in the 16-bit table 0x6996. */
const wordParity = (x: number): number => {
  x ^= x >>> 16;
  x ^= x >>> 8;
  x ^= x >>> 4;
  return (0x6996 >>> (x & 15)) & 1;
};

/** Parity of places [start, end) of a view packed 32 places to a word, place j at bit j & 31 of word j >>> 5. */
const rangeParity = (view: Int32Array, start: number, end: number): number => {
  const first = start >>> 5;
  const last = (end - 1) >>> 5;
  const fromStart = -1 << (start & 31);
  const toEnd = -1 >>> (31 - ((end - 1) & 31));
  if (first === last) return wordParity(view[first] & fromStart & toEnd);
  let x = (view[first] & fromStart) ^ (view[last] & toEnd);
  for (let w = first + 1; w < last; w++) x ^= view[w];
  return wordParity(x);
};

/** place[position] = j where order[j] = position. */
const inverse = (order: Int32Array): Int32Array => {
  const n = order.length;
  const place = new Int32Array(n);
  for (let j = 0; j < n; j++) place[order[j]] = j;
  return place;
};

/** A set of block indices with constant-time toggling and dense iteration over members[0, size). */
class BlockSet {
  readonly members: Int32Array;
  size = 0;
  private readonly slots: Int32Array;

  constructor(blocks: number) {
    this.members = new Int32Array(blocks);
    this.slots = new Int32Array(blocks).fill(-1);
  }

  toggle(block: number): void {
    const slot = this.slots[block];
    if (slot < 0) {
      this.slots[block] = this.size;
      this.members[this.size++] = block;
    } else {
      const last = this.members[--this.size];
      this.members[slot] = last;
      this.slots[last] = slot;
      this.slots[block] = -1;
    }
  }
}

/** Bob's bits in a pass's order, 32 places to a word. */
const packedView = (bits: Uint8Array, order: Int32Array): Int32Array => {
  const n = order.length;
  const view = new Int32Array((n + 31) >>> 5);
  let word = 0;
  for (let j = 0; j < n; j++) {
    word |= bits[order[j]] << (j & 31);
    if ((j & 31) === 31 || j === n - 1) {
      view[j >>> 5] = word;
      word = 0;
    }
  }
  return view;
};

/**
 * Bob's side: returns his corrected key and what it cost. The optimized variant asks for no
 * parity it can derive: after the first pass Alice's whole-key parity is known, so the parity of
 * each later pass's last block follows from the others.
 */
export const reconcile = (bobKey: Uint8Array, plan: CascadePlan, oracle: ParityOracle): Reconciliation => {
  const { n, blockSizes, permutations } = plan;
  if (bobKey.length !== n) throw new RangeError(`Bob's key has ${bobKey.length} bits, the plan ${n}`);
  const reuse = plan.variant === 'optimized';
  const corrected = Uint8Array.from(bobKey);
  // Per started pass: Alice's block parities and the blocks whose parities differ from Bob's;
  // Bob's bits in the pass's order, packed (at once for a pass of more than two blocks, which is
  // always bisected, else when first bisected); each key position's place in the order (at the
  // first flip after the pass started); and, optimized only, Alice's parities of sub-blocks (at
  // the first bisection), indexed by block * treeSize + heap index (root 1, children 2i and
  // 2i + 1; -1 unknown). Late passes seldom need the last three.
  const aliceBlocks: Uint8Array[] = [];
  const odd: BlockSet[] = [];
  const views: (Int32Array | undefined)[] = [];
  const places: (Int32Array | undefined)[] = [];
  const known: (Int8Array | undefined)[] = [];
  const settled = new Uint8Array(blockSizes.length);
  const treeSizes = blockSizes.map((k) => 2 << Math.ceil(Math.log2(k)));
  // One search per odd block of the pass being bisected: its range, tree node and Alice's parity.
  const most = Math.max(...blockSizes.map((k) => Math.ceil(n / k)));
  const [starts, ends, roots, nodes] = [new Int32Array(most), new Int32Array(most), new Int32Array(most), new Int32Array(most)];
  const [parities, lefts, open, asking] = [new Uint8Array(most), new Uint8Array(most), new Int32Array(most), new Int32Array(most)];
  // Both sides' whole-key parities: Alice's is known once the first pass has disclosed its blocks.
  let [disclosedBits, roundTrips, aliceParity, bobParity] = [0, 0, 0, gatherParity(bobKey, permutations[0], 0, n)];

  const ask = (queries: Int32Array): Uint8Array => {
    const answers = oracle.parities(queries);
    if (answers.length * 3 !== queries.length) throw new Error(`parity oracle answered ${answers.length} of ${queries.length / 3} queries`);
    disclosedBits += answers.length;
    roundTrips++;
    return answers;
  };

  // With consistent answers every flip fixes an error, so more than n flips means Alice's answers
  // fit no key: stop rather than bisect forever.
  let flips = 0;
  const flip = (position: number): void => {
    if (++flips > n) throw new Error(`parity answers are inconsistent: ${flips} corrections in a ${n}-bit frame`);
    corrected[position] ^= 1;
    bobParity ^= 1;
    for (let p = 0; p < odd.length; p++) {
      const j = (places[p] ??= inverse(permutations[p]))[position];
      const view = views[p];
      if (view !== undefined) view[j >>> 5] ^= 1 << (j & 31);
      odd[p].toggle(Math.floor(j / blockSizes[p]));
    }
  };

  /** Bisects every odd block of one pass in lockstep and flips the bit each one finds. */
  const bisect = (pass: number): void => {
    const [k, tree] = [blockSizes[pass], treeSizes[pass]];
    const order = permutations[pass];
    if (!settled[pass]) {
      // Bisections need the last block's order; what Bob has drawn from it moves with it.
      settled[pass] = 1;
      plan.settleLastBlock(pass);
      const [place, packed] = [places[pass], views[pass]];
      for (let j = lastBlockStart(n, k); j < n; j++) {
        if (place !== undefined) place[order[j]] = j;
        if (packed !== undefined) packed[j >>> 5] = (packed[j >>> 5] & ~(1 << (j & 31))) | (corrected[order[j]] << (j & 31));
      }
    }
    const view = (views[pass] ??= packedView(corrected, order));
    const parents = reuse ? (known[pass] ??= new Int8Array(Math.ceil(n / k) * tree).fill(-1)) : undefined;
    const searches = odd[pass].size;
    let opened = 0;
    for (let s = 0; s < searches; s++) {
      const block = odd[pass].members[s];
      starts[s] = block * k;
      ends[s] = Math.min(n, (block + 1) * k);
      roots[s] = block * tree;
      nodes[s] = 1;
      parities[s] = aliceBlocks[pass][block];
      if (ends[s] - starts[s] > 1) open[opened++] = s;
    }
    while (opened > 0) {
      let asked = 0;
      for (let i = 0; i < opened; i++) {
        const s = open[i];
        const child = roots[s] + 2 * nodes[s];
        const left = parents ? parents[child] : -1;
        const right = parents ? parents[child + 1] : -1;
        if (left >= 0) lefts[s] = left;
        else if (right >= 0) lefts[s] = right ^ parities[s];
        else asking[asked++] = s;
      }
      if (asked > 0) {
        const queries = new Int32Array(3 * asked);
        for (let i = 0; i < asked; i++) {
          const s = asking[i];
          queries[3 * i] = pass;
          queries[3 * i + 1] = starts[s];
          queries[3 * i + 2] = (starts[s] + ends[s]) >>> 1;
        }
        const answers = ask(queries);
        for (let i = 0; i < asked; i++) lefts[asking[i]] = answers[i];
      }
      let kept = 0;
      for (let i = 0; i < opened; i++) {
        const s = open[i];
        const mid = (starts[s] + ends[s]) >>> 1;
        const left = lefts[s];
        if (parents) {
          const child = roots[s] + 2 * nodes[s];
          parents[child] = left;
          parents[child + 1] = left ^ parities[s];
        }
        if (rangeParity(view, starts[s], mid) !== left) {
          ends[s] = mid;
          nodes[s] = 2 * nodes[s];
          parities[s] = left;
        } else {
          starts[s] = mid;
          nodes[s] = 2 * nodes[s] + 1;
          parities[s] ^= left;
        }
        if (ends[s] - starts[s] > 1) open[kept++] = s;
      }
      opened = kept;
    }
    for (let s = 0; s < searches; s++) flip(order[starts[s]]);
  };

  for (let pass = 0; pass < blockSizes.length; pass++) {
    const [k, order] = [blockSizes[pass], permutations[pass]];
    const blocks = Math.ceil(n / k);
    // The optimized variant derives the last block's parities from the whole key's.
    const asked = reuse && pass > 0 ? blocks - 1 : blocks;
    const queries = new Int32Array(3 * asked);
    for (let b = 0; b < asked; b++) {
      queries[3 * b] = pass;
      queries[3 * b + 1] = b * k;
      queries[3 * b + 2] = Math.min(n, (b + 1) * k);
    }
    const [alice, bob] = [new Uint8Array(blocks), new Uint8Array(blocks)];
    if (asked > 0) alice.set(ask(queries));
    const view = blocks > 2 ? packedView(corrected, order) : undefined;
    views.push(view);
    for (let b = 0; b < asked; b++) bob[b] = view ? rangeParity(view, b * k, Math.min(n, (b + 1) * k)) : gatherParity(corrected, order, b * k, Math.min(n, (b + 1) * k));
    if (asked === blocks) aliceParity = alice.reduce((x, y) => x ^ y, 0);
    else [alice[blocks - 1], bob[blocks - 1]] = [alice.reduce((x, y) => x ^ y, aliceParity), bob.reduce((x, y) => x ^ y, bobParity)];
    const mismatched = new BlockSet(blocks);
    for (let b = 0; b < blocks; b++) if (alice[b] !== bob[b]) mismatched.toggle(b);
    aliceBlocks.push(alice);
    odd.push(mismatched);
    // Cascade effect: a flip found in one pass makes blocks of earlier passes odd; settle the
    // pass with the smallest blocks first, as its bisections disclose least.
    for (;;) {
      let next = -1;
      for (let p = 0; p <= pass; p++) if (odd[p].size > 0 && (next < 0 || blockSizes[p] < blockSizes[next])) next = p;
      if (next < 0) break;
      bisect(next);
    }
  }
  return { corrected, disclosedBits, roundTrips };
};
