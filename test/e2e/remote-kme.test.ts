import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MasterKey } from '../../infrastructure/keys/master-key';
import { SqliteKeyVault } from '../../infrastructure/keys/sqlite-key-vault';
import { etsi, qkmpEnv, runCli, RunningServer, saeFiles, startServer } from '../support/qkmp-process';

// Two platforms: A is a KME (its pool filled from its BB84 link); B's key source is A, reached over
// ETSI GS QKD 014 with mutual TLS. B's `keys generate` pulls key from A; the SAE at the far end of
// the link fetches the same keys from A by their key IDs, which B recorded as its block ids.

describe('a platform whose key source is another KME', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-kme-'));
  const [a, b] = [path.join(root, 'a'), path.join(root, 'b')];
  let kme: RunningServer | undefined;
  afterAll(async () => {
    await kme?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('pulls key over ETSI GS QKD 014 into its own pool, and the far end gets the same keys by key ID', async () => {
    const envA = qkmpEnv(a);
    expect(runCli(envA, 'keys', 'generate', '--bytes', '6000').status).toBe(0);
    for (const id of ['PLATFORM-B', 'FAR-END-1']) expect(runCli(envA, 'sae', 'register', '--id', id, '--out', path.join(root, id)).status).toBe(0);
    kme = await startServer(envA);
    const platformB = saeFiles('PLATFORM-B', path.join(root, 'PLATFORM-B'));
    const farEnd = saeFiles('FAR-END-1', path.join(root, 'FAR-END-1'));

    const envB = qkmpEnv(b, {
      QKMP_KEY_SOURCE: kme.etsiUrl,
      QKMP_KME_SLAVE_SAE_ID: 'FAR-END-1',
      QKMP_KME_CERT: platformB.certificate,
      QKMP_KME_KEY: platformB.privateKey,
      QKMP_KME_CA: platformB.ca,
    });
    const pulled = runCli(envB, 'keys', 'generate', '--bytes', '4096');
    expect(pulled.stderr).toBe('');
    expect(pulled.status).toBe(0);
    expect(pulled.stdout).toMatch(/from KME https:\/\/127\.0\.0\.1:\d+ \(ETSI GS QKD 014, slave SAE FAR-END-1\)/);
    expect(pulled.stdout).toMatch(/ingested 4096 bytes in \d+ blocks; 0 blocks discarded/);

    // B recorded each key as a block named by its key ID, with no key in the log.
    const db = new Database(path.join(b, 'qkmp.db'), { readonly: true });
    const blocks = db
      .prepare<[], { data: string }>("SELECT data FROM events WHERE type = 'KeyMaterialIngested' ORDER BY position")
      .all()
      .map((row) => JSON.parse(row.data) as { sourceId: string; blockId: string; offset: number; length: number });
    db.close();
    expect(blocks.reduce((sum, block) => sum + block.length, 0)).toBe(4096);
    expect(new Set(blocks.map((block) => block.sourceId))).toEqual(new Set(['kme-127.0.0.1']));

    // The far end asks A for the same keys, by the IDs B holds them under.
    const vault = SqliteKeyVault.open(path.join(b, 'vault.db'), MasterKey.load(path.join(b, 'master.key')).key.derive('key-vault/v1'));
    try {
      for (const block of blocks.slice(0, 3)) {
        const answer = await etsi(kme.etsiUrl, farEnd, farEnd.ca, `PLATFORM-B/dec_keys?key_ID=${block.blockId}`);
        expect(answer.status).toBe(200);
        const [key] = (answer.body as { keys: { key_ID: string; key: string }[] }).keys;
        expect(key.key_ID).toBe(block.blockId);
        expect(Buffer.from(key.key, 'base64')).toEqual(await vault.read(block.sourceId, block.offset, block.length));
      }
    } finally {
      await vault.close();
    }
  });
});
