import { RandomSource, fillIdentity, randomSubset, shuffle, wordMask } from './random';

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
// permutation, Alice's prefix parities, Bob's packed view) is kept to a few typed-array loops and
// skipped where a pass does not need it. A last block is only ordered once it is bisected. A
// two-block pass (twelve of the optimized variant's fourteen) is drawn as a set of positions, a
// bit mask on which both sides' block parities cost a few hundred word operations; its order is
// drawn, and Bob's bits packed in it, only if it is bisected. The bisections work on flat typed
// arrays rather than objects, maps and sets, cut from buffers kept from frame to frame.

export type CascadeVariant = 'original' | 'optimized';

export const CASCADE_VARIANTS: readonly CascadeVariant[] = ['original', 'optimized'];

/** The public part of a reconciliation: both sides build it from the same seed and QBER estimate. */
export interface CascadePlan {
  readonly n: number;
  readonly variant: CascadeVariant;
  readonly blockSizes: readonly number[];
  /**
   * The first block of a two-block pass as a set (bit position & 31 of word position >>> 5), else
   * undefined. The two block parities need no more, and most such passes are never bisected, so
   * their orders are drawn only when asked for.
   */
  readonly firstBlocks: readonly (Int32Array | undefined)[];
  /**
   * order(p)[j] is the key position at place j of pass p. A two-block pass's order is drawn,
   * complete, at the first call. Other passes are drawn with the plan, but the last block's places
   * hold its positions in an order fixed only by settle(p): block parities do not depend on it
   * and most passes never bisect that block, so its shuffle waits.
   */
  order(pass: number): Int32Array;
  /** Completes pass p's order from the pass's own seed, the same on both sides; later calls do nothing. */
  settle(pass: number): void;
}

/** Alice's side: parities of her key over ranges of a pass's shuffled order. */
export interface ParityOracle {
  /**
   * queries holds (pass, start, end) triples, end exclusive; the answer has one parity per triple.
   * One call is one round trip. The caller reuses the queries array afterwards: keep a copy, not it.
   */
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
  const twoBlocks = blockSizes.map((k) => Math.ceil(n / k) === 2);
  // Passes drawn as orders start from the identity: written once, copied (a native copy) to the others.
  const identities = new Int32Array(twoBlocks.filter((two) => !two).length * n);
  fillIdentity(identities.subarray(0, n));
  for (let start = n; start < identities.length; start += n) identities.copyWithin(start, 0, n);
  const orders: (Int32Array | undefined)[] = [];
  const firstBlocks: (Int32Array | undefined)[] = [];
  for (let p = 0, drawn = 0; p < blockSizes.length; p++) {
    const k = blockSizes[p];
    firstBlocks.push(twoBlocks[p] ? randomSubset(random, n, k) : undefined);
    orders.push(twoBlocks[p] ? undefined : shuffle(random, identities.subarray(drawn * n, ++drawn * n), lastBlockStart(n, k)));
  }
  // Four words seed each shuffle that settles a pass: one for a last block, two for a two-block pass.
  const settleSeeds = Uint32Array.from({ length: 8 * blockSizes.length }, () => random.nextUint32());
  const settled = new Uint8Array(blockSizes.length);
  const settle = (pass: number): void => {
    if (settled[pass]) return;
    settled[pass] = 1;
    const k = blockSizes[pass];
    let word = 8 * pass;
    const seeds = { nextUint32: () => settleSeeds[word++] };
    const first = firstBlocks[pass];
    if (first === undefined) {
      shuffle(seeds, (orders[pass] as Int32Array).subarray(lastBlockStart(n, k)));
      return;
    }
    const order = (orders[pass] = listSets(first, n, k));
    shuffle(seeds, order.subarray(0, k));
    shuffle(seeds, order.subarray(k));
  };
  const order = (pass: number): Int32Array => {
    if (orders[pass] === undefined) settle(pass);
    return orders[pass] as Int32Array;
  };
  return { n, variant, blockSizes, firstBlocks, order, settle };
};

/** The positions in `members` (count of them), ascending, then the others of [0, n), ascending. */
const listSets = (members: Int32Array, n: number, count: number): Int32Array => {
  const order = new Int32Array(n);
  let [inside, outside] = [0, count];
  for (let w = 0; w < members.length; w++) {
    let these = members[w];
    let others = ~these & wordMask(n, w);
    // Lowest set bit first: x & -x isolates it, and 31 - clz32 names it.
    for (; these !== 0; these &= these - 1) order[inside++] = 32 * w + 31 - Math.clz32(these & -these);
    for (; others !== 0; others &= others - 1) order[outside++] = 32 * w + 31 - Math.clz32(others & -others);
  }
  return order;
};

/** Parity of `key` over places [start, end) of a pass's order. */
const gatherParity = (key: Uint8Array, order: Int32Array, start: number, end: number): number => {
  let parity = 0;
  for (let j = start; j < end; j++) parity ^= key[order[j]];
  return parity;
};

/** Whether places [start, end) are one whole block of a pass with blocks of k. */
const isBlock = (n: number, k: number, start: number, end: number): boolean => start % k === 0 && end === Math.min(n, start + k);

/** prefix[j + 1] = parity of `key` over places [0, j] of the order, rewritten from place `from` on. */
const extendPrefix = (prefix: Uint8Array, key: Uint8Array, order: Int32Array, from: number): Uint8Array => {
  // A running parity in a local: reading prefix[j] back would chain every step through memory.
  let parity = prefix[from];
  for (let j = from; j < order.length; j++) {
    parity ^= key[order[j]];
    prefix[j + 1] = parity;
  }
  return prefix;
};

/**
 * Alice's answers from her own key; in the pipeline they travel over the authenticated channel.
 * For a pass she is bisecting, or will (one of more than two blocks always is), she keeps prefix
 * parities, with which any range costs two reads; the whole-block parities of other passes she
 * reads directly, a two-block pass's from its first block's set. A range that takes part of a
 * last block first settles that block's order.
 */
export const keyParityOracle = (aliceKey: Uint8Array, plan: CascadePlan): ParityOracle => {
  const { n, blockSizes, firstBlocks } = plan;
  if (aliceKey.length !== n) throw new RangeError(`Alice's key has ${aliceKey.length} bits, the plan ${n}`);
  const prefixes: (Uint8Array | undefined)[] = [];
  const settled = new Uint8Array(blockSizes.length);
  // Her key 32 bits to a word, and its parity, once a two-block pass asks for a whole block.
  let packed: Int32Array | undefined;
  let keyParity = 0;
  return {
    parities: (queries) => {
      const answers = new Uint8Array(queries.length / 3);
      for (let i = 0; i < answers.length; i++) {
        const pass = queries[3 * i];
        const start = queries[3 * i + 1];
        const end = queries[3 * i + 2];
        if (!(pass >= 0 && pass < blockSizes.length && start >= 0 && start <= end && end <= n)) throw new RangeError(`parity query ${i} (pass ${pass}, [${start}, ${end})) is outside the plan`);
        const k = blockSizes[pass];
        const first = firstBlocks[pass];
        if (first !== undefined && start < n && isBlock(n, k, start, end)) {
          if (packed === undefined) {
            packed = packBits(aliceKey, new Int32Array((n + 31) >>> 5));
            keyParity = wordsParity(packed);
          }
          answers[i] = maskedParity(packed, first) ^ (start === 0 ? 0 : keyParity);
          continue;
        }
        const order = plan.order(pass);
        const last = lastBlockStart(n, k);
        let prefix = prefixes[pass];
        if (first === undefined && !settled[pass] && start < end && end > last && (start > last || end < n)) {
          settled[pass] = 1;
          plan.settle(pass);
          if (prefix !== undefined) extendPrefix(prefix, aliceKey, order, last);
        }
        if (prefix === undefined && (n > 2 * k || !isBlock(n, k, start, end))) prefix = prefixes[pass] = extendPrefix(new Uint8Array(n + 1), aliceKey, order, 0);
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

/** Parity of all the bits of words. */
const wordsParity = (words: Int32Array): number => {
  let x = 0;
  for (let w = 0; w < words.length; w++) x ^= words[w];
  return wordParity(x);
};

/** Parity of the bits of `packed` that `mask` selects, both 32 to a word. */
const maskedParity = (packed: Int32Array, mask: Int32Array): number => {
  let x = 0;
  for (let w = 0; w < mask.length; w++) x ^= packed[w] & mask[w];
  return wordParity(x);
};

/** place[position] = j where order[j] = position. */
const inverse = (order: Int32Array, place: Int32Array): Int32Array => {
  const n = order.length;
  for (let j = 0; j < n; j++) place[order[j]] = j;
  return place;
};

/** A set of block indices with constant-time toggling and dense iteration over members[0, size). */
class BlockSet {
  size = 0;

  /** Both arrays hold one entry per block; slots is overwritten. */
  constructor(
    readonly members: Int32Array,
    private readonly slots: Int32Array,
  ) {
    slots.fill(-1);
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

/** Bob's bits in a pass's order, 32 places to a word, written over every word of `view`. */
const packedView = (bits: Uint8Array, order: Int32Array, view: Int32Array): Int32Array => {
  const n = order.length;
  for (let w = 0; w < view.length; w++) {
    let word = 0;
    for (let j = 32 * w, end = Math.min(n, j + 32); j < end; j++) word |= bits[order[j]] << (j & 31);
    view[w] = word;
  }
  return view;
};

/** A key 32 bits to a word (bit i at bit i & 31 of word i >>> 5), written over every word of `packed`. */
const packBits = (bits: Uint8Array, packed: Int32Array): Int32Array => {
  const n = bits.length;
  for (let w = 0; w < packed.length; w++) {
    let word = 0;
    for (let i = 32 * w, end = Math.min(n, i + 32); i < end; i++) word |= bits[i] << (i & 31);
    packed[w] = word;
  }
  return packed;
};

/** The most entries an arena buffer grows to; larger needs get arrays of their own, so one huge frame does not pin its memory. */
const ARENA_KEPT = 1 << 22;

/** Arrays of one type cut from a buffer that grows by doubling, up to ARENA_KEPT entries. */
class Slab<A extends Int32Array | Uint8Array> {
  private buffer: A;
  private used = 0;

  constructor(private readonly make: (length: number) => A) {
    this.buffer = make(0);
  }

  take(length: number): A {
    if (this.used + length > this.buffer.length) {
      const size = Math.max(2 * this.buffer.length, length);
      if (size > ARENA_KEPT) return this.make(length);
      // Arrays already cut keep the old buffer alive until the frame ends.
      [this.buffer, this.used] = [this.make(size), 0];
    }
    return this.buffer.subarray(this.used, (this.used += length)) as A;
  }

  reset(): void {
    this.used = 0;
  }
}

/**
 * Typed arrays for one reconciliation, cut from buffers kept from frame to frame: a fresh typed
 * array costs far more than the work a small one holds, and the per-pass arrays of a frame add
 * up to megabytes. Cut arrays hold what earlier frames left, so each user writes its part first.
 */
class Arena {
  private readonly ints = new Slab((length) => new Int32Array(length));
  private readonly bytes = new Slab((length) => new Uint8Array(length));

  int32s(length: number): Int32Array {
    return this.ints.take(length);
  }

  uint8s(length: number): Uint8Array {
    return this.bytes.take(length);
  }

  reset(): void {
    this.ints.reset();
    this.bytes.reset();
  }
}

/** The arena no reconciliation is using; a reconciliation started inside another (from an oracle) makes its own. */
let spareArena: Arena | undefined;

/**
 * Bob's side: returns his corrected key and what it cost. The optimized variant asks for no
 * parity it can derive: after the first pass Alice's whole-key parity is known, so the parity of
 * each later pass's last block follows from the others.
 */
export const reconcile = (bobKey: Uint8Array, plan: CascadePlan, oracle: ParityOracle): Reconciliation => {
  if (bobKey.length !== plan.n) throw new RangeError(`Bob's key has ${bobKey.length} bits, the plan ${plan.n}`);
  const arena = spareArena ?? new Arena();
  spareArena = undefined;
  try {
    return reconcileIn(arena, bobKey, plan, oracle);
  } finally {
    arena.reset();
    spareArena = arena;
  }
};

const reconcileIn = (arena: Arena, bobKey: Uint8Array, plan: CascadePlan, oracle: ParityOracle): Reconciliation => {
  const { n, blockSizes } = plan;
  const reuse = plan.variant === 'optimized';
  const corrected = Uint8Array.from(bobKey);
  const words = (n + 31) >>> 5;
  // Bob's key 32 bits to a word, kept up to date: his whole-key parity, and the parities of the
  // first blocks of two-block passes, which stay sets (`unordered`) until Bob bisects the pass.
  const unordered = [...plan.firstBlocks];
  const packed = packBits(bobKey, arena.int32s(words));
  // Per started pass: Alice's block parities and the blocks whose parities differ from Bob's;
  // Bob's bits in the pass's order, packed (at once for a pass of more than two blocks, which is
  // always bisected, else when first bisected); each key position's place in the order (at the
  // first flip after the pass started, if ordered); and, optimized only, Alice's parities of
  // sub-blocks (at the first bisection), indexed by block * treeSize + heap index (root 1,
  // children 2i and 2i + 1; 0 unknown, else 2 | parity). Late passes seldom need the last three.
  const aliceBlocks: Uint8Array[] = [];
  const odd: BlockSet[] = [];
  const views: (Int32Array | undefined)[] = [];
  const places: (Int32Array | undefined)[] = [];
  const known: (Uint8Array | undefined)[] = [];
  const settled = new Uint8Array(blockSizes.length);
  const treeSizes = blockSizes.map((k) => 2 << Math.ceil(Math.log2(k)));
  // One search per odd block of the pass being bisected: its range, tree node and Alice's parity.
  const most = Math.max(...blockSizes.map((k) => Math.ceil(n / k)));
  const [starts, ends, roots, nodes, open, asking] = [arena.int32s(most), arena.int32s(most), arena.int32s(most), arena.int32s(most), arena.int32s(most), arena.int32s(most)];
  const [parities, lefts, bobBlocks] = [arena.uint8s(most), arena.uint8s(most), arena.uint8s(most)];
  const queryBuffer = arena.int32s(3 * most);
  // Both sides' whole-key parities (the order does not matter): Alice's is known once the first
  // pass has disclosed its blocks.
  let [disclosedBits, roundTrips, aliceParity, bobParity] = [0, 0, 0, wordsParity(packed)];

  /** Asks for the first `count` triples of the query buffer, which the oracle reads during the call only. */
  const ask = (count: number): Uint8Array => {
    const answers = oracle.parities(queryBuffer.subarray(0, 3 * count));
    if (answers.length !== count) throw new Error(`parity oracle answered ${answers.length} of ${count} queries`);
    disclosedBits += count;
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
    packed[position >>> 5] ^= 1 << (position & 31);
    for (let p = 0; p < odd.length; p++) {
      const first = unordered[p];
      if (first !== undefined) {
        odd[p].toggle(((first[position >>> 5] >>> (position & 31)) & 1) ^ 1);
        continue;
      }
      const j = (places[p] ??= inverse(plan.order(p), arena.int32s(n)))[position];
      const view = views[p];
      if (view !== undefined) view[j >>> 5] ^= 1 << (j & 31);
      odd[p].toggle(Math.floor(j / blockSizes[p]));
    }
  };

  /** Bisects every odd block of one pass in lockstep and flips the bit each one finds. */
  const bisect = (pass: number): void => {
    const [k, tree] = [blockSizes[pass], treeSizes[pass]];
    if (!settled[pass]) {
      // Bisections need the whole order. A two-block pass has had none (nothing of Bob's
      // depends on it yet); in others, what Bob has drawn from the last block moves with it.
      settled[pass] = 1;
      plan.settle(pass);
      if (unordered[pass] !== undefined) unordered[pass] = undefined;
      else {
        const [order, place, view] = [plan.order(pass), places[pass], views[pass]];
        for (let j = lastBlockStart(n, k); j < n; j++) {
          if (place !== undefined) place[order[j]] = j;
          if (view !== undefined) view[j >>> 5] = (view[j >>> 5] & ~(1 << (j & 31))) | (corrected[order[j]] << (j & 31));
        }
      }
    }
    const order = plan.order(pass);
    const view = (views[pass] ??= packedView(corrected, order, arena.int32s(words)));
    const parents = reuse ? (known[pass] ??= arena.uint8s(Math.ceil(n / k) * tree).fill(0)) : undefined;
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
        const left = parents ? parents[child] : 0;
        const right = parents ? parents[child + 1] : 0;
        if (left) lefts[s] = left & 1;
        else if (right) lefts[s] = (right & 1) ^ parities[s];
        else {
          queryBuffer[3 * asked] = pass;
          queryBuffer[3 * asked + 1] = starts[s];
          queryBuffer[3 * asked + 2] = (starts[s] + ends[s]) >>> 1;
          asking[asked++] = s;
        }
      }
      if (asked > 0) {
        const answers = ask(asked);
        for (let i = 0; i < asked; i++) lefts[asking[i]] = answers[i];
      }
      let kept = 0;
      for (let i = 0; i < opened; i++) {
        const s = open[i];
        const mid = (starts[s] + ends[s]) >>> 1;
        const left = lefts[s];
        if (parents) {
          const child = roots[s] + 2 * nodes[s];
          parents[child] = 2 | left;
          parents[child + 1] = 2 | (left ^ parities[s]);
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
    const [k, first] = [blockSizes[pass], unordered[pass]];
    const blocks = Math.ceil(n / k);
    // The optimized variant derives the last block's parities from the whole key's.
    const asked = reuse && pass > 0 ? blocks - 1 : blocks;
    for (let b = 0; b < asked; b++) {
      queryBuffer[3 * b] = pass;
      queryBuffer[3 * b + 1] = b * k;
      queryBuffer[3 * b + 2] = Math.min(n, (b + 1) * k);
    }
    const [alice, bob] = [arena.uint8s(blocks), bobBlocks.subarray(0, blocks)];
    if (asked > 0) alice.set(ask(asked));
    const view = blocks > 2 ? packedView(corrected, plan.order(pass), arena.int32s(words)) : undefined;
    views.push(view);
    for (let b = 0; b < asked; b++) {
      const end = Math.min(n, (b + 1) * k);
      if (view !== undefined) bob[b] = rangeParity(view, b * k, end);
      else if (first !== undefined) bob[b] = maskedParity(packed, first) ^ (b === 0 ? 0 : bobParity);
      else bob[b] = gatherParity(corrected, plan.order(pass), b * k, end);
    }
    if (asked === blocks) aliceParity = parityOf(alice, blocks, 0);
    else [alice[blocks - 1], bob[blocks - 1]] = [parityOf(alice, blocks - 1, aliceParity), parityOf(bob, blocks - 1, bobParity)];
    const mismatched = new BlockSet(arena.int32s(blocks), arena.int32s(blocks));
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

/** `parity` xor the first `count` bits. */
const parityOf = (bits: Uint8Array, count: number, parity: number): number => {
  for (let b = 0; b < count; b++) parity ^= bits[b];
  return parity;
};
