import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KeyVaultError } from '../../infrastructure/keys/key-vault-errors';
import { SqliteKeyVault } from '../../infrastructure/keys/sqlite-key-vault';
import { bytesOnDisk, rawConnection, rawEntries, RawEntry, survivingFragments, tempDir, wrappingKey } from './support';

// What crypto-shredding must leave on disk: no trace of a destroyed range in the database file, its
// write-ahead log or a journal, neither its plaintext nor the ciphertext and wrapped data keys of
// the entries that held it, while every other range stays readable, also after a restart.

const dir = tempDir('qkmp-vault-erasure-');

// Three adjacent blocks; the middle one is larger than a page, so its ciphertext spans overflow pages.
const BLOCKS = [
  [0, 4096],
  [4096, 40_000],
  [44_096, 4096],
] as const;
const TOTAL = 48_192;

interface Fixture {
  readonly file: string;
  readonly kek: Buffer;
  readonly vault: SqliteKeyVault;
  readonly material: Buffer;
  readonly other: Buffer;
}

const fixture = async (name: string): Promise<Fixture> => {
  const file = path.join(dir(), name, 'vault.db');
  const kek = wrappingKey();
  const vault = SqliteKeyVault.open(file, kek);
  const material = randomBytes(TOTAL);
  for (const [offset, length] of BLOCKS) await vault.store('bb84', offset, material.subarray(offset, offset + length));
  const other = randomBytes(1000);
  await vault.store('kme-1', 0, other);
  expect(await vault.read('bb84', 0, TOTAL)).toEqual(material);
  return { file, kek, vault, material, other };
};

/** The secrets of the entries a range overlaps, read from the table before the range goes. */
const secretsOf = (entries: readonly RawEntry[], from: number, to: number): Buffer[] =>
  entries
    .filter((entry) => entry.offset < to && from < entry.offset + entry.length)
    .flatMap((entry) => [entry.ciphertext, entry.wrapped_key]);

const expectNoTrace = (file: string, secrets: readonly Buffer[]): void => {
  const disk = bytesOnDisk(file);
  for (const secret of secrets) expect(survivingFragments(disk, secret)).toBe(0);
};

const expectOwnerOnly = (file: string): void => {
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
};

describe('erasure on disk', () => {
  it('destroy leaves no trace of the range, its ciphertext or its wrapped data keys, and keeps the rest', async () => {
    const { file, kek, vault, material, other } = await fixture('destroy');
    const [from, to] = [3000, 46_000];
    const raw = rawConnection(file);
    const secrets = secretsOf(rawEntries(raw, 'bb84'), from, to);
    raw.close();
    expect(secrets).toHaveLength(6);
    const plaintext = material.subarray(from, to);
    // The search works: before the destroy every secret is on disk, and the plaintext never is.
    const before = bytesOnDisk(file);
    for (const secret of secrets) expect(survivingFragments(before, secret)).toBeGreaterThan(0);
    expect(survivingFragments(before, material)).toBe(0);

    await vault.destroy('bb84', from, to - from);
    expect(fs.statSync(`${file}-wal`).size).toBe(0);
    expectNoTrace(file, [plaintext, ...secrets]);
    expect(await vault.read('bb84', 0, from)).toEqual(material.subarray(0, from));
    expect(await vault.read('bb84', to, TOTAL - to)).toEqual(material.subarray(to));
    await vault.close();

    expectNoTrace(file, [plaintext, ...secrets]);
    const reopened = SqliteKeyVault.open(file, kek);
    expect(await reopened.read('bb84', 0, from)).toEqual(material.subarray(0, from));
    expect(await reopened.read('bb84', to, TOTAL - to)).toEqual(material.subarray(to));
    expect(await reopened.read('kme-1', 0, other.length)).toEqual(other);
    await expect(reopened.read('bb84', from, 1)).rejects.toMatchObject({ name: 'KeyMaterialMissingError' });
    expect(await reopened.held('bb84')).toBe(TOTAL - (to - from));
    await reopened.close();
  });

  it('discardFrom leaves no trace of what it discarded, and keeps what came before', async () => {
    const { file, kek, vault, material, other } = await fixture('discard');
    const from = 3000;
    const raw = rawConnection(file);
    const secrets = secretsOf(rawEntries(raw, 'bb84'), from, TOTAL);
    raw.close();
    expect(secrets).toHaveLength(6);

    await vault.discardFrom('bb84', from);
    expectNoTrace(file, [material.subarray(from), ...secrets]);
    await vault.close();

    expectNoTrace(file, [material.subarray(from), ...secrets]);
    const reopened = SqliteKeyVault.open(file, kek);
    expect(await reopened.read('bb84', 0, from)).toEqual(material.subarray(0, from));
    expect(await reopened.read('kme-1', 0, other.length)).toEqual(other);
    expect(await reopened.held('bb84')).toBe(from);
    await reopened.close();
  });

  it('reports a log it could not truncate past the busy timeout, and a repeated destroy finishes the erasure', async () => {
    const file = path.join(dir(), 'busy', 'vault.db');
    const vault = SqliteKeyVault.open(file, wrappingKey(), { busyTimeoutMs: 50 });
    const material = randomBytes(8192);
    await vault.store('bb84', 0, material);
    const raw = rawConnection(file);
    const secrets = secretsOf(rawEntries(raw, 'bb84'), 0, 8192);
    // A reader in the middle of a transaction pins the log's current frames.
    raw.exec('BEGIN');
    raw.prepare('SELECT count(*) FROM entries').get();

    await expect(vault.destroy('bb84', 0, 8192)).rejects.toThrow(KeyVaultError);
    await expect(vault.destroy('bb84', 0, 8192)).rejects.toThrow(/old pages may remain in .*vault\.db-wal; repeat the call to finish/);
    raw.exec('COMMIT');
    raw.close();
    await vault.destroy('bb84', 0, 8192);

    expect(fs.statSync(`${file}-wal`).size).toBe(0);
    expectNoTrace(file, [material, ...secrets]);
    await vault.close();
  });
});

describe('the vault file', () => {
  it('is created owner-only in an owner-only directory, and so are its log and shared-memory files', async () => {
    const folder = path.join(dir(), 'fresh', 'keys');
    const file = path.join(folder, 'vault.db');
    const vault = SqliteKeyVault.open(file, wrappingKey());
    await vault.store('bb84', 0, randomBytes(64));

    expect(fs.statSync(folder).mode & 0o777).toBe(0o700);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) expectOwnerOnly(f);
    await vault.close();
  });

  it('is refused when others may read it, with the command that fixes it', async () => {
    const file = path.join(dir(), 'open-to-others.db');
    await SqliteKeyVault.open(file, wrappingKey()).close();
    fs.chmodSync(file, 0o644);
    expect(() => SqliteKeyVault.open(file, wrappingKey())).toThrow(/open to others \(mode 644\); run chmod 600/);
  });

  it('runs with secure_delete, in WAL mode with synchronous=FULL', async () => {
    const file = path.join(dir(), 'pragmas.db');
    const vault = SqliteKeyVault.open(file, wrappingKey());
    const raw = rawConnection(file);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
    // secure_delete and synchronous are per connection: the vault's own is checked through its handle.
    const db = (vault as unknown as { db: Database.Database }).db;
    expect(db.pragma('secure_delete', { simple: true })).toBe(1);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    await vault.close();
  });

  it('is shared by two processes\' vaults: what one stores or destroys, the other sees', async () => {
    const file = path.join(dir(), 'shared.db');
    const kek = wrappingKey();
    const [server, cli] = [SqliteKeyVault.open(file, kek), SqliteKeyVault.open(file, kek)];
    const material = randomBytes(256);
    await server.store('bb84', 0, material);
    expect(await cli.read('bb84', 0, 256)).toEqual(material);
    await cli.destroy('bb84', 0, 128);
    await expect(server.read('bb84', 0, 1)).rejects.toMatchObject({ name: 'KeyMaterialMissingError' });
    expect(await server.read('bb84', 128, 128)).toEqual(material.subarray(128));
    await Promise.all([server.close(), cli.close()]);
  });
});
