import { hkdfSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The platform's one root secret. Everything keyed (the audit chain, the key vault's wrapping key)
 * uses a subkey derived from it with HKDF, so one purpose's key never serves another.
 */
export class MasterKey {
  private constructor(private readonly secret: Buffer) {}

  /** A subkey for one purpose, e.g. 'audit-chain/v1'. */
  derive(purpose: string, bytes = 32): Buffer {
    return Buffer.from(hkdfSync('sha256', this.secret, Buffer.alloc(0), `qkmp/${purpose}`, bytes));
  }

  /**
   * From QKMP_MASTER_KEY (base64 of 32 bytes) if given, else from the file, created with 32 random
   * bytes and owner-only permissions when it does not exist yet.
   */
  static load(file: string, fromEnvironment?: string): { key: MasterKey; created: boolean } {
    if (fromEnvironment !== undefined) return { key: new MasterKey(decode(fromEnvironment, 'QKMP_MASTER_KEY')), created: false };
    try {
      const secret = decode(fs.readFileSync(file, 'utf8').trim(), `master key file ${file}`);
      const mode = fs.statSync(file).mode & 0o077;
      if (mode !== 0 && process.platform !== 'win32') {
        throw new MasterKeyError(`master key file ${file} is readable by others (mode ${(mode | 0o600).toString(8)}); run chmod 600 ${file}`);
      }
      return { key: new MasterKey(secret), created: false };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const secret = randomBytes(32);
    // 'wx' fails if another process created the file meanwhile: then use theirs.
    try {
      fs.writeFileSync(file, `${secret.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return MasterKey.load(file);
      throw error;
    }
    return { key: new MasterKey(secret), created: true };
  }

  /** For tests and tools that bring their own secret. */
  static fromBytes(secret: Buffer): MasterKey {
    if (secret.length !== 32) throw new MasterKeyError('a master key is 32 bytes');
    return new MasterKey(Buffer.from(secret));
  }
}

export class MasterKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MasterKeyError';
  }
}

const decode = (text: string, where: string): Buffer => {
  const secret = Buffer.from(text, 'base64');
  if (secret.length !== 32 || secret.toString('base64') !== text.trim()) {
    throw new MasterKeyError(`${where} must hold 32 bytes in base64 (44 characters); generate one with: openssl rand -base64 32`);
  }
  return secret;
};
