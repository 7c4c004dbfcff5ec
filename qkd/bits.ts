// Keys are Uint8Array of 0/1, one bit per byte: the simulation and Cascade index single bits far
// more often than they scan, and byte access keeps that cheap without per-bit objects.

/** Number of positions where two equal-length bit strings differ. */
export const countDifferences = (a: Uint8Array, b: Uint8Array): number => {
  if (a.length !== b.length) throw new RangeError(`bit strings differ in length (${a.length} vs ${b.length})`);
  let errors = 0;
  for (let i = 0; i < a.length; i++) errors += a[i] ^ b[i];
  return errors;
};

/** The bits at the given positions, in that order. */
export const selectBits = (bits: Uint8Array, positions: Int32Array): Uint8Array => {
  const out = new Uint8Array(positions.length);
  for (let i = 0; i < positions.length; i++) out[i] = bits[positions[i]];
  return out;
};

/** The bits whose positions are not in `sorted` (ascending, distinct). */
export const dropBits = (bits: Uint8Array, sorted: Int32Array): Uint8Array => {
  const out = new Uint8Array(bits.length - sorted.length);
  let [next, k] = [0, 0];
  for (let i = 0; i < bits.length; i++) {
    if (next < sorted.length && sorted[next] === i) next++;
    else out[k++] = bits[i];
  }
  return out;
};

/** Bits packed eight to a byte, first bit in the top bit, for hashing and handing the key on. */
export const packBits = (bits: Uint8Array): Uint8Array => {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  for (let i = 0; i < bits.length; i++) out[i >>> 3] |= bits[i] << (7 - (i & 7));
  return out;
};
