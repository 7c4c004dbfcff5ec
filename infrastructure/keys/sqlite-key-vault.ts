import fs from 'node:fs';
import Database from 'better-sqlite3';
import { KeyMaterialMissingError, KeyVault } from '../../application/ports/key-vault';
import { EntryIdentity, KEY_BYTES, keyCheck, keyCheckHolds, openEntry, SealedEntry, sealEntry } from './envelope';
import { KeyVaultError, KeyVaultIntegrityError } from './key-vault-errors';
import { createOwnerOnly } from '../owner-only-file';

export interface SqliteKeyVaultOptions {
  /** How long an operation waits for another process's lock before giving up (ms); default 5000. */
  readonly busyTimeoutMs?: number;
}

/*
 * Erasure on disk, not only in the tables:
 * - secure_delete overwrites a deleted row's bytes, and every page it frees, with zeros;
 * - WAL with synchronous=FULL: a commit is durable when it returns (as the event store's);
 * - after a destroy or discard, a TRUNCATE checkpoint copies the log's newest pages into the file
 *   and cuts the -wal file to zero bytes, so no older page image of a shredded row survives there.
 * The -wal and -shm files take the database file's owner-only mode.
 */
const PRAGMAS = ['secure_delete = ON', 'synchronous = FULL'] as const;

// One row per entry; the entries of a source never overlap. An entry's crypto columns hold its data
// key sealed under the wrapping key (key_iv, key_tag, wrapped_key) and its material sealed under
// that data key (iv, tag, ciphertext), both bound to (source_id, offset, length).
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
  ) STRICT;
  CREATE TABLE IF NOT EXISTS entries (
    source_id   TEXT    NOT NULL,
    offset      INTEGER NOT NULL CHECK (offset >= 0),
    length      INTEGER NOT NULL CHECK (length > 0),
    key_iv      BLOB    NOT NULL,
    key_tag     BLOB    NOT NULL,
    wrapped_key BLOB    NOT NULL,
    iv          BLOB    NOT NULL,
    tag         BLOB    NOT NULL,
    ciphertext  BLOB    NOT NULL,
    PRIMARY KEY (source_id, offset)
  ) STRICT;
`;

const KEY_CHECK = 'key-check';

/** A row of the entries table as stored: what someone with the file sees. */
export interface EntryRow {
  readonly offset: number;
  readonly length: number;
  readonly key_iv: Buffer;
  readonly key_tag: Buffer;
  readonly wrapped_key: Buffer;
  readonly iv: Buffer;
  readonly tag: Buffer;
  readonly ciphertext: Buffer;
}

const ENTRY_COLUMNS = 'offset, length, key_iv, key_tag, wrapped_key, iv, tag, ciphertext';

/**
 * The key vault in a SQLite file of its own (or ':memory:'), the embedded default. Each operation
 * is one IMMEDIATE transaction, so a CLI and a server may share the file.
 */
export class SqliteKeyVault implements KeyVault {
  private readonly kek: Buffer;
  private readonly entryBefore: Database.Statement<[string, number], EntryRow>;
  private readonly covering: Database.Statement<{ source: string; start: number; end: number }, EntryRow>;
  private readonly insertRow: Database.Statement<[string, number, number, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer]>;
  private readonly deleteRow: Database.Statement<[string, number]>;
  private readonly deleteRange: Database.Statement<[string, number, number]>;
  private readonly deleteFrom: Database.Statement<[string, number]>;
  private readonly heldBytes: Database.Statement<[string], { held: number }>;
  private readonly inTransaction: <T>(operation: () => T) => T;

  private constructor(
    private readonly db: Database.Database,
    private readonly file: string,
    kek: Buffer,
  ) {
    this.kek = Buffer.from(kek);
    this.entryBefore = db.prepare(
      `SELECT ${ENTRY_COLUMNS} FROM entries WHERE source_id = ? AND offset < ? ORDER BY offset DESC LIMIT 1`,
    );
    // The entry holding `start` (the last one at or before it) and every entry starting inside the range.
    this.covering = db.prepare(
      `SELECT ${ENTRY_COLUMNS} FROM entries WHERE source_id = @source AND offset < @end AND offset >= coalesce(
         (SELECT max(offset) FROM entries WHERE source_id = @source AND offset <= @start), @start) ORDER BY offset`,
    );
    this.insertRow = db.prepare(
      'INSERT INTO entries (source_id, offset, length, key_iv, key_tag, wrapped_key, iv, tag, ciphertext) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.deleteRow = db.prepare('DELETE FROM entries WHERE source_id = ? AND offset = ?');
    this.deleteRange = db.prepare('DELETE FROM entries WHERE source_id = ? AND offset >= ? AND offset < ?');
    this.deleteFrom = db.prepare('DELETE FROM entries WHERE source_id = ? AND offset >= ?');
    this.heldBytes = db.prepare('SELECT coalesce(sum(length), 0) AS held FROM entries WHERE source_id = ?');
    const transaction = db.transaction((operation: () => unknown) => operation());
    this.inTransaction = <T>(operation: () => T) => transaction.immediate(operation) as T;
  }

  /**
   * Opens (or creates, owner-only, with an owner-only parent directory when it has to make one) the
   * vault file. `kek` is the master key's 'key-vault/v1' subkey; a file made under another key is refused.
   */
  static open(file: string, kek: Buffer, options: SqliteKeyVaultOptions = {}): SqliteKeyVault {
    if (kek.length !== KEY_BYTES) throw new KeyVaultError(`the key vault's wrapping key is ${KEY_BYTES} bytes`);
    const inMemory = file === ':memory:';
    if (!inMemory) openToOwnerOnly(file);
    const db = new Database(file, { timeout: options.busyTimeoutMs ?? 5000 });
    try {
      const journal = db.pragma('journal_mode = WAL', { simple: true });
      if (!inMemory && journal !== 'wal') {
        throw new KeyVaultError(`the key vault ${file} cannot use a write-ahead log here (journal mode ${String(journal)})`);
      }
      for (const pragma of PRAGMAS) db.pragma(pragma);
      db.exec(SCHEMA);
      db.transaction(checkWrappingKey).immediate(db, kek, file);
      return new SqliteKeyVault(db, file, kek);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async store(sourceId: string, offset: number, material: Uint8Array): Promise<void> {
    checkRange(sourceId, offset, material.length);
    if (material.length === 0) throw new RangeError('a stored block holds at least one byte');
    const discarded = this.inTransaction(() => {
      const removed = this.discard(sourceId, offset);
      this.insert({ sourceId, offset, length: material.length }, material);
      return removed;
    });
    if (discarded) this.truncateLog();
  }

  async carve(sourceId: string, offset: number, length: number): Promise<void> {
    checkRange(sourceId, offset, length);
    if (length === 0) return;
    this.inTransaction(() => this.cutAround(sourceId, offset, offset + length));
  }

  async read(sourceId: string, offset: number, length: number): Promise<Buffer> {
    checkRange(sourceId, offset, length);
    const end = offset + length;
    const rows: EntryRow[] = [];
    let next = offset;
    for (const row of this.covering.all({ source: sourceId, start: offset, end })) {
      if (row.offset + row.length <= next) continue;
      if (row.offset > next) break;
      rows.push(row);
      next = row.offset + row.length;
    }
    if (next < end) throw new KeyMaterialMissingError(sourceId, offset, length);
    const materials: Buffer[] = [];
    try {
      for (const row of rows) materials.push(this.open(sourceId, row));
      const pieces = rows.map((row, i) =>
        materials[i].subarray(Math.max(offset, row.offset) - row.offset, Math.min(end, row.offset + row.length) - row.offset),
      );
      return Buffer.concat(pieces, length);
    } finally {
      for (const material of materials) material.fill(0);
    }
  }

  async destroy(sourceId: string, offset: number, length: number): Promise<void> {
    checkRange(sourceId, offset, length);
    if (length > 0) {
      this.inTransaction(() => {
        this.cutAround(sourceId, offset, offset + length);
        this.deleteRange.run(sourceId, offset, offset + length);
      });
    }
    // Also when nothing was left to delete: a repeated call finishes a truncation that was kept waiting.
    this.truncateLog();
  }

  async discardFrom(sourceId: string, offset: number): Promise<void> {
    checkRange(sourceId, offset, 0);
    this.inTransaction(() => this.discard(sourceId, offset));
    this.truncateLog();
  }

  async holdsAny(sourceId: string, offset: number, length: number): Promise<boolean> {
    checkRange(sourceId, offset, length);
    return this.covering.all({ source: sourceId, start: offset, end: offset + length }).some((row) => row.offset + row.length > offset);
  }

  async held(sourceId: string): Promise<number> {
    return this.heldBytes.get(sourceId)?.held ?? 0;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
    this.kek.fill(0);
  }

  /** Deletes every entry at or after `offset`, splitting one that straddles it; whether any went. */
  private discard(sourceId: string, offset: number): boolean {
    const split = this.splitAt(sourceId, offset);
    return this.deleteFrom.run(sourceId, offset).changes > 0 || split;
  }

  /** Entry boundaries at `start` and `end`, so [start, end) is held by entries of its own. */
  private cutAround(sourceId: string, start: number, end: number): void {
    this.splitAt(sourceId, start);
    this.splitAt(sourceId, end);
  }

  /** Re-seals an entry that straddles `point` as two, each under a fresh data key; whether it did. */
  private splitAt(sourceId: string, point: number): boolean {
    const row = this.entryBefore.get(sourceId, point);
    if (row === undefined || row.offset + row.length <= point) return false;
    const material = this.open(sourceId, row);
    try {
      const head = point - row.offset;
      this.deleteRow.run(sourceId, row.offset);
      this.insert({ sourceId, offset: row.offset, length: head }, material.subarray(0, head));
      this.insert({ sourceId, offset: point, length: row.length - head }, material.subarray(head));
    } finally {
      material.fill(0);
    }
    return true;
  }

  private insert(identity: EntryIdentity, material: Uint8Array): void {
    const { key, material: sealed } = sealEntry(this.kek, identity, material);
    this.insertRow.run(
      identity.sourceId,
      identity.offset,
      identity.length,
      key.iv,
      key.tag,
      key.ciphertext,
      sealed.iv,
      sealed.tag,
      sealed.ciphertext,
    );
  }

  private open(sourceId: string, row: EntryRow): Buffer {
    const identity = { sourceId, offset: row.offset, length: row.length };
    const entry: SealedEntry = {
      key: { iv: row.key_iv, tag: row.key_tag, ciphertext: row.wrapped_key },
      material: { iv: row.iv, tag: row.tag, ciphertext: row.ciphertext },
    };
    const material = openEntry(this.kek, identity, entry);
    if (material === undefined) throw new KeyVaultIntegrityError(sourceId, row.offset, row.length);
    return material;
  }

  /**
   * Waits (busy timeout) for readers of older snapshots, as no page they might read can be dropped.
   * Past it, the shredding is committed but old page images may remain in the log: the call throws,
   * and repeating it (destroy and discardFrom are idempotent) completes the truncation.
   */
  private truncateLog(): void {
    const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    if (result.busy !== 0) {
      throw new KeyVaultError(
        `the key vault ${this.file} shredded the range, but another connection kept its write-ahead log from being ` +
          `truncated, so old pages may remain in ${this.file}-wal; repeat the call to finish`,
      );
    }
  }
}

/** Key material: a vault open to others is refused, not used. */
const openToOwnerOnly = (file: string): void => {
  createOwnerOnly(file);
  const others = fs.statSync(file).mode & 0o077;
  if (others !== 0 && process.platform !== 'win32') {
    throw new KeyVaultError(`the key vault ${file} is open to others (mode ${(others | 0o600).toString(8)}); run chmod 600 ${file}`);
  }
};

/**
 * A new vault records a key-check value; an existing one must match it. Entries without one mean the
 * value was removed: recording the key at hand then would lock out the key the entries were sealed with.
 */
const checkWrappingKey = (db: Database.Database, kek: Buffer, file: string): void => {
  const stored = db.prepare<[string], { value: Buffer }>('SELECT value FROM meta WHERE name = ?').get(KEY_CHECK);
  if (stored === undefined) {
    if (db.prepare('SELECT 1 FROM entries LIMIT 1').get() !== undefined) {
      throw new KeyVaultError(`the key vault ${file} holds entries but its key-check value is gone: the file was altered`);
    }
    db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run(KEY_CHECK, keyCheck(kek));
  } else if (!keyCheckHolds(kek, stored.value)) {
    throw new KeyVaultError(
      `the key vault ${file} was sealed under another wrapping key: the master key is not the one it was made with`,
    );
  }
};

const checkRange = (sourceId: string, offset: number, length: number): void => {
  if (typeof sourceId !== 'string' || sourceId.length === 0) throw new RangeError('a key source id is a non-empty string');
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0 || !Number.isSafeInteger(offset + length)) {
    throw new RangeError(`[${offset}, ${offset} + ${length}) is not a range of byte offsets`);
  }
};
