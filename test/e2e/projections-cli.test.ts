import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createClient } from 'redis';
import { withoutQkmpSettings } from '../support/qkmp-process';

// `qkmp projections rebuild` and `check` against a real Redis, in a namespace of this test's own.

const cli = path.join(__dirname, '..', '..', 'dist', 'bin', 'qkmp.js');
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const namespace = `qkmp-test:cli-${randomBytes(4).toString('hex')}:`;

describe('qkmp projections on Redis', () => {
  let dataDir: string;
  const redis = createClient({ url: redisUrl });
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-proj-'));
    await redis.connect();
  });
  afterAll(async () => {
    for await (const keys of redis.scanIterator({ MATCH: `${namespace}*`, COUNT: 500 })) if (keys.length) await redis.del(keys);
    await redis.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const qkmp = (...args: string[]) =>
    spawnSync(process.execPath, [cli, ...args], {
      env: { ...withoutQkmpSettings(), QKMP_DATA_DIR: dataDir, QKMP_READ_MODELS: redisUrl, QKMP_VIEWS_NAMESPACE: namespace },
      encoding: 'utf8',
      timeout: 30_000,
    });

  it('rebuilds the views from the log, finds them equal to a replay, and reports a view edited by hand', async () => {
    for (const role of ['AUDITOR', 'USER_ADMIN']) expect(qkmp('admin', 'create', '--name', role, '--role', role).status).toBe(0);

    const rebuilt = qkmp('projections', 'rebuild');
    expect(rebuilt.stdout).toMatch(/views rebuilt from the log up to position 2/);
    expect(rebuilt.status).toBe(0);
    expect(qkmp('projections', 'check').stdout).toMatch(/views match the log/);

    const keys: string[] = [];
    for await (const batch of redis.scanIterator({ MATCH: `${namespace}*`, COUNT: 500 })) keys.push(...batch);
    const counter = keys.find((key) => /audit/.test(key) && key !== `${namespace}checkpoints`);
    expect(counter).toBeDefined();
    await redis.rename(counter!, `${counter}-moved`);

    const checked = qkmp('projections', 'check');
    expect(checked.status).toBe(1);
    expect(checked.stdout).toMatch(/differs: .*audit/);
    expect(checked.stdout).toMatch(/view keys differ from a replay of the log; run: qkmp projections rebuild/);

    expect(qkmp('projections', 'rebuild').status).toBe(0);
    await redis.del(`${counter}-moved`);
    expect(qkmp('projections', 'check').status).toBe(0);
  }, 60_000);
});
