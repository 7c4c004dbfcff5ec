import { RandomSource, randomBits } from './random';
import { toeplitzHash, toeplitzSeedLength } from './toeplitz';

// Reconciliation can end with errors Cascade did not see (an even number left in every block).
// Both sides hash their key with the same fresh, public Toeplitz seed; Toeplitz matrices form a
// universal family, so two different keys give equal tags with probability 2^-tagBits.

export const DEFAULT_TAG_BITS = 64;

export interface VerificationHash {
  readonly seed: Uint8Array;
  readonly tagBits: number;
}

export const chooseVerificationHash = (keyBits: number, random: RandomSource, tagBits = DEFAULT_TAG_BITS): VerificationHash => {
  if (tagBits > keyBits) throw new RangeError(`verification tag of ${tagBits} bits is longer than the ${keyBits}-bit key`);
  return { seed: randomBits(random, toeplitzSeedLength(keyBits, tagBits)), tagBits };
};

export const verificationTag = (key: Uint8Array, hash: VerificationHash): Uint8Array => toeplitzHash(hash.seed, key, hash.tagBits);

export const tagsMatch = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((bit, i) => bit === b[i]);
