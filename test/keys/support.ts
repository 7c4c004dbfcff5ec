import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MasterKey } from '../../infrastructure/keys/master-key';
import { EntryRow } from '../../infrastructure/keys/sqlite-key-vault';

export const wrappingKey = (): Buffer => MasterKey.fromBytes(randomBytes(32)).derive('key-vault/v1');

/** A fresh directory per test file, removed after it. */
export const tempDir = (prefix: string): (() => string) => {
  let dir = '';
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  return () => dir;
};

export interface RawEntry extends EntryRow {
  readonly source_id: string;
}

/** A second connection to a vault file, to look at (or tamper with) its rows as an attacker with the file would. */
export const rawConnection = (file: string): Database.Database => new Database(file, { timeout: 5000 });

export const rawEntries = (db: Database.Database, sourceId: string): RawEntry[] =>
  db.prepare<[string], RawEntry>('SELECT * FROM entries WHERE source_id = ? ORDER BY offset').all(sourceId);

/** Every byte on disk that belongs to the database: the file and any write-ahead log or rollback journal. */
export const bytesOnDisk = (file: string): Buffer =>
  Buffer.concat([file, `${file}-wal`, `${file}-journal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));

/**
 * 16-byte pieces of a secret, every 256 bytes and at its end, so that any surviving fragment of 272
 * bytes or more (a page holds 4096) is found; a chance match of 16 random bytes is out of reach.
 */
export const fragmentsOf = (secret: Buffer): Buffer[] => {
  const starts = new Set<number>([Math.max(0, secret.length - 16)]);
  for (let start = 0; start + 16 <= secret.length; start += 256) starts.add(start);
  return [...starts].map((start) => secret.subarray(start, start + 16));
};

/** How many fragments of the secret occur in the haystack. */
export const survivingFragments = (haystack: Buffer, secret: Buffer): number =>
  fragmentsOf(secret).filter((fragment) => haystack.includes(fragment)).length;

/** The forms a buffer could take in a message. */
export const printedForms = (secret: Buffer): string[] => [secret.toString('hex'), secret.toString('base64'), secret.toString('base64url')];
