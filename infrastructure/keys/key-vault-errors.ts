/** The key vault cannot be used as it is: its file, its wrapping key, or its disk. Never names key bytes. */
export class KeyVaultError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KeyVaultError';
  }
}

/** An entry that does not open where it is stored: a wrong wrapping key, or a row altered or moved. */
export class KeyVaultIntegrityError extends KeyVaultError {
  constructor(readonly sourceId: string, readonly offset: number, readonly length: number) {
    super(
      `the key vault entry of ${sourceId} at [${offset}, ${offset + length}) does not decrypt: it was sealed under another ` +
        'wrapping key, or altered or moved in the file; its material cannot be used',
    );
    this.name = 'KeyVaultIntegrityError';
  }
}
