import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * One ingester per key source on this host. The vault is a file of this host, and an ingester
 * writes a block at the pool's next offset before the log assigns it there: two at once would
 * write the same offsets. A lock file holds the owner's pid, so a lock left by a killed process
 * is taken over instead of blocking for ever.
 */
export const lockSource = (dataDir: string, sourceId: string): (() => void) => {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, `ingest-${sourceId}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => fs.rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(fs.readFileSync(file, 'utf8'));
      if (isAlive(owner)) {
        throw new SourceBusyError(`key source ${sourceId} is being filled by process ${owner}; wait for it to finish, or stop it`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new SourceBusyError(`could not lock key source ${sourceId} (${file}); try again`);
};

const isAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class SourceBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceBusyError';
  }
}
