import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MasterKey } from '../../infrastructure/keys/master-key';

describe('the master key', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-master-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('is created on first start, owner-only, and the same key is loaded afterwards', () => {
    const file = path.join(dir, 'keys', 'master.key');
    const first = MasterKey.load(file);
    expect(first.created).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = MasterKey.load(file);
    expect(again.created).toBe(false);
    expect(again.key.derive('audit-chain/v1')).toEqual(first.key.derive('audit-chain/v1'));
  });

  it('derives a different subkey for each purpose', () => {
    const key = MasterKey.load(path.join(dir, 'm.key')).key;
    expect(key.derive('audit-chain/v1')).not.toEqual(key.derive('key-vault/v1'));
    expect(key.derive('audit-chain/v1')).toHaveLength(32);
  });

  it('refuses a key file that others can read, and says how to fix it', () => {
    const file = path.join(dir, 'm.key');
    MasterKey.load(file);
    fs.chmodSync(file, 0o644);
    expect(() => MasterKey.load(file)).toThrow(/readable by others .*chmod 600/);
  });

  it('takes a key from the environment, and names the rule when it is malformed', () => {
    const secret = Buffer.alloc(32, 7).toString('base64');
    const fromEnv = MasterKey.load(path.join(dir, 'unused.key'), secret);
    expect(fromEnv.key.derive('x')).toEqual(MasterKey.fromBytes(Buffer.alloc(32, 7)).derive('x'));
    expect(fs.existsSync(path.join(dir, 'unused.key'))).toBe(false);
    expect(() => MasterKey.load(path.join(dir, 'x.key'), 'short')).toThrow(/QKMP_MASTER_KEY must hold 32 bytes in base64/);
  });

  it('never shows the secret in an error', () => {
    const file = path.join(dir, 'bad.key');
    fs.writeFileSync(file, 'c2VjcmV0LXZhbHVl\n', { mode: 0o600 });
    expect(() => MasterKey.load(file)).toThrow(/must hold 32 bytes/);
    try {
      MasterKey.load(file);
    } catch (error) {
      expect(String(error)).not.toContain('c2VjcmV0LXZhbHVl');
    }
  });
});
