import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/*
 * Envelope encryption of one key vault entry: the material is sealed with AES-256-GCM under a data
 * key of its own (32 random bytes), and that data key is sealed with AES-256-GCM under the vault's
 * wrapping key. Both seals take the entry's identity (source, offset, length) as additional
 * authenticated data, so an entry copied to another place, or with any byte changed, fails to open.
 * Every seal draws a random 96-bit IV: a data key seals once, and the wrapping key stays far below
 * the 2^32 seals that NIST SP 800-38D allows random IVs under one key.
 */

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export interface Sealed {
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly ciphertext: Buffer;
}

export const seal = (key: Buffer, plaintext: Uint8Array, aad: Buffer): Sealed => {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
};

/** The plaintext, or undefined when the key, the AAD or any sealed byte differs from the seal's. */
export const unseal = (key: Buffer, sealed: Sealed, aad: Buffer): Buffer | undefined => {
  if (sealed.iv.length !== IV_BYTES || sealed.tag.length !== TAG_BYTES) return undefined;
  const decipher = createDecipheriv(CIPHER, key, sealed.iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  const head = decipher.update(sealed.ciphertext);
  try {
    return Buffer.concat([head, decipher.final()]);
  } catch {
    return undefined;
  } finally {
    // Unauthenticated output, or a copy now inside the result: either way not to be left around.
    head.fill(0);
  }
};

/** Where an entry's bytes sit in a source's pool. */
export interface EntryIdentity {
  readonly sourceId: string;
  readonly offset: number;
  readonly length: number;
}

/** An entry as stored: its data key sealed under the wrapping key, its material under the data key. */
export interface SealedEntry {
  readonly key: Sealed;
  readonly material: Sealed;
}

export const sealEntry = (kek: Buffer, identity: EntryIdentity, material: Uint8Array): SealedEntry => {
  if (material.length !== identity.length) throw new RangeError('an entry seals exactly its own length of material');
  const dataKey = randomBytes(KEY_BYTES);
  try {
    return { key: seal(kek, dataKey, aad('data-key', identity)), material: seal(dataKey, material, aad('material', identity)) };
  } finally {
    dataKey.fill(0);
  }
};

/** The entry's material, or undefined when it does not open where it claims to be. */
export const openEntry = (kek: Buffer, identity: EntryIdentity, entry: SealedEntry): Buffer | undefined => {
  const dataKey = unseal(kek, entry.key, aad('data-key', identity));
  if (dataKey === undefined) return undefined;
  try {
    const material = unseal(dataKey, entry.material, aad('material', identity));
    if (material?.length !== identity.length) return undefined;
    return material;
  } finally {
    dataKey.fill(0);
  }
};

/**
 * A key-check value (IV and tag of an empty seal): proves at open that a vault is opened with the
 * wrapping key it was made with, before any entry is read.
 */
export const keyCheck = (kek: Buffer): Buffer => {
  const sealed = seal(kek, Buffer.alloc(0), KEY_CHECK);
  return Buffer.concat([sealed.iv, sealed.tag]);
};

export const keyCheckHolds = (kek: Buffer, check: Buffer): boolean =>
  unseal(kek, { iv: check.subarray(0, IV_BYTES), tag: check.subarray(IV_BYTES), ciphertext: Buffer.alloc(0) }, KEY_CHECK) !==
  undefined;

const KEY_CHECK = Buffer.from('qkmp/key-vault/v1/key-check');

/**
 * purpose NUL, then the source id's UTF-8 length (4 bytes) and bytes, offset and length (8 bytes
 * each, big-endian): one encoding per identity, so two identities never share an AAD.
 */
const aad = (purpose: 'data-key' | 'material', identity: EntryIdentity): Buffer => {
  const source = Buffer.from(identity.sourceId, 'utf8');
  const sourceLength = Buffer.alloc(4);
  sourceLength.writeUInt32BE(source.length);
  const range = Buffer.alloc(16);
  range.writeBigUInt64BE(BigInt(identity.offset), 0);
  range.writeBigUInt64BE(BigInt(identity.length), 8);
  return Buffer.concat([Buffer.from(`qkmp/key-vault/v1/${purpose}\0`), sourceLength, source, range]);
};
