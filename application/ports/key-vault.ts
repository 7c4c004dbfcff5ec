/**
 * Where key material lives: outside the event log, encrypted under a data key per range, the data
 * keys wrapped by a key derived from the master key. Offsets are byte offsets in a source's pool,
 * the same ones the key pool's events carry, so an event names vault contents without holding them.
 * Every operation is atomic: a crash leaves either the state before it or the state after it.
 */
export interface KeyVault {
  /**
   * Stores a block at [offset, offset + material.length). Entries at or after `offset` are left by an
   * ingestion whose event was never written (a crash or a lost race): they are shredded first.
   */
  store(sourceId: string, offset: number, material: Uint8Array): Promise<void>;
  /** Gives [offset, offset + length) data keys of its own, so it can be read or shredded alone. */
  carve(sourceId: string, offset: number, length: number): Promise<void>;
  /** The material of a range; KeyMaterialMissingError when any byte of it is not (or no longer) held. */
  read(sourceId: string, offset: number, length: number): Promise<Buffer>;
  /** Crypto-shreds a range: its data keys and ciphertext are deleted. Destroying nothing is not an error. */
  destroy(sourceId: string, offset: number, length: number): Promise<void>;
  /** Crypto-shreds everything of a source at or after `offset` (ingestions that never reached the log). */
  discardFrom(sourceId: string, offset: number): Promise<void>;
  /** Whether any byte of [offset, offset + length) is held; nothing is decrypted to tell. */
  holdsAny(sourceId: string, offset: number, length: number): Promise<boolean>;
  /** Bytes held for a source. */
  held(sourceId: string): Promise<number>;
  close(): Promise<void>;
}

export class KeyMaterialMissingError extends Error {
  constructor(readonly sourceId: string, readonly offset: number, readonly length: number) {
    super(
      `key material of ${sourceId} at [${offset}, ${offset + length}) is not in the key vault: it was destroyed, ` +
        'or never ingested; the range cannot be delivered',
    );
    this.name = 'KeyMaterialMissingError';
  }
}
