import fs from 'node:fs';
import path from 'node:path';

/**
 * Makes `file` exist, with its folder, readable by its owner only, before SQLite opens it: SQLite
 * would create it with the umask's mode, and gives its -wal and -shm files the database's mode.
 * A file that exists keeps its mode; the caller decides whether that mode will do.
 */
export const createOwnerOnly = (file: string): void => {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    fs.closeSync(fs.openSync(file, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
};
