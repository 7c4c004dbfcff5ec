import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KEYS_NOT_FOUND } from '../../domain/saekeys';
import { STATUS_FIELDS } from '../etsi/support/standard';
import { Answer } from '../etsi/support/tls';
import {
  CLI,
  etsi,
  graphql,
  headPosition,
  qkmpEnv,
  RunningServer,
  runCli,
  saeFiles,
  SaeFiles,
  startServer,
  tokenFrom,
} from '../support/qkmp-process';

// Key generation and ETSI GS QKD 014 key delivery through the built command line and server, from
// an empty data folder: the pool filled from the simulated BB84 link, three gateways registered,
// keys obtained by a master and fetched by its slave over mutual TLS, every refusal in the audit,
// and a server killed outright that forgets nothing about which keys reached their slave.

const A = 'GATEWAY-A';
const B = 'GATEWAY-B';
const C = 'GATEWAY-C';
const KEY_BYTES = 32; // the KME's default key_size, 256 bits
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface WireKey {
  readonly key_ID: string;
  readonly key: string;
}

describe('key generation and ETSI GS QKD 014 key delivery, end to end', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let server: RunningServer | undefined;
  let auditor: string;
  const sae: Record<string, SaeFiles> = {};
  /** Each refusal the test provoked: the SAE its path named (the audit's target) and the caller. */
  const refusals: { target: string; actorId: string }[] = [];

  beforeAll(() => {
    expect(fs.existsSync(CLI)).toBe(true); // built by the test command
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-e2e-etsi-'));
    env = qkmpEnv(dataDir);
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const as = (caller: string | undefined, pathAndQuery: string, body?: unknown): Promise<Answer> =>
    etsi(server!.etsiUrl, caller === undefined ? undefined : sae[caller], sae[A].ca, pathAndQuery, body);

  const refused = (answer: Answer, status: number, target: string, actorId: string): void => {
    expect(answer.status).toBe(status);
    expect(answer.body).toEqual(expect.objectContaining({ message: expect.any(String) }));
    refusals.push({ target: `sae:${target}`, actorId });
  };

  const keysOf = (answer: Answer): WireKey[] => {
    expect(answer.status).toBe(200);
    return answer.body.keys as WireKey[];
  };

  const balance = async () => {
    const answer = await graphql(
      server!.graphqlUrl,
      auditor,
      'query($at: SafeInt) { poolBalance(sourceId: "bb84", consistentWith: $at) { ingested available reserved issued frozen consumed destroyed } }',
      { at: headPosition(path.join(dataDir, 'qkmp.db')) },
    );
    expect(answer.errors).toBeUndefined();
    return answer.data.poolBalance as Record<string, number>;
  };

  const storedKeyCount = async (): Promise<number> => {
    const status = await as(A, `${B}/status`);
    expect(status.status).toBe(200);
    return status.body.stored_key_count as number;
  };

  it('fills the pool from the key source and registers three gateways with owner-only keys', async () => {
    const generated = runCli(env, 'keys', 'generate', '--bytes', '20000');
    expect(generated.stderr).toBe('');
    expect(generated.status).toBe(0);
    expect(generated.stdout).toMatch(/QBER: mean \d+\.\d\d%, highest \d+\.\d\d%/);
    expect(generated.stdout).toMatch(/reconciliation efficiency f: \d\.\d{3} /);
    const pool = /pool bb84: (\d+) bytes available of (\d+) ingested, at log position (\d+)\n/.exec(generated.stdout);
    expect(pool).not.toBeNull();
    expect(Number(pool![1])).toBeGreaterThanOrEqual(20000);
    expect(Number(pool![1])).toBe(Number(pool![2]));
    // The position to wait for in a query is the fill's last write.
    expect(Number(pool![3])).toBe(headPosition(path.join(dataDir, 'qkmp.db')));
    expect(generated.stdout).toContain(`consistentWith: ${pool![3]} waits`);

    for (const id of [A, B, C]) {
      const dir = path.join(dataDir, `sae-${id}`);
      const registered = runCli(env, 'sae', 'register', '--id', id, '--out', dir);
      expect(registered.status).toBe(0);
      expect(registered.stdout).toContain(`SAE ${id} registered`);
      sae[id] = saeFiles(id, dir);
      for (const file of [sae[id].certificate, sae[id].privateKey, sae[id].ca]) expect(fs.existsSync(file)).toBe(true);
      expect(fs.statSync(sae[id].privateKey).mode & 0o777).toBe(0o600);
    }
    auditor = tokenFrom(runCli(env, 'admin', 'create', '--name', 'Auditor', '--role', 'AUDITOR'));

    server = await startServer(env);
    const available = (await balance()).available;
    expect(available).toBe(Number(pool![1]));
  }, 120_000);

  it('answers Get status with all 11 fields of the standard, the key count following the pool', async () => {
    const status = await as(A, `${B}/status`);
    expect(status.status).toBe(200);
    expect(Object.keys(status.body).sort()).toEqual([...STATUS_FIELDS].sort());
    const { available } = await balance();
    expect(status.body).toEqual({
      source_KME_ID: 'QKMP-KME',
      target_KME_ID: 'QKMP-KME',
      master_SAE_ID: A,
      slave_SAE_ID: B,
      key_size: KEY_BYTES * 8,
      stored_key_count: Math.floor(available / KEY_BYTES),
      max_key_count: Math.floor(available / KEY_BYTES),
      max_key_per_request: expect.any(Number),
      max_key_size: expect.any(Number),
      min_key_size: expect.any(Number),
      max_SAE_ID_count: expect.any(Number),
    });
  });

  let firstKeys: WireKey[];
  let freshKey: WireKey;

  it('gives the master distinct keys of the size asked for, by POST and by GET', async () => {
    const before = await balance();
    firstKeys = keysOf(await as(A, `${B}/enc_keys`, { number: 3, size: 256 }));
    expect(firstKeys).toHaveLength(3);
    for (const { key_ID, key } of firstKeys) {
      expect(key_ID).toMatch(UUID);
      expect(Buffer.from(key, 'base64')).toHaveLength(32);
    }
    [freshKey] = keysOf(await as(A, `${B}/enc_keys?number=1&size=128`));
    expect(freshKey.key_ID).toMatch(UUID);
    expect(Buffer.from(freshKey.key, 'base64')).toHaveLength(16);
    const all = [...firstKeys, freshKey];
    expect(new Set(all.map((k) => k.key_ID)).size).toBe(4);
    expect(new Set(all.map((k) => k.key)).size).toBe(4);
    const after = await balance();
    expect(before.available - after.available).toBe(3 * 32 + 16);
    expect(after.issued - before.issued).toBe(3 * 32 + 16);
  });

  it('hands each key to its slave once: the same bytes, then the standard\'s "not found"', async () => {
    const key_IDs = firstKeys.map((k) => ({ key_ID: k.key_ID }));
    const fetched = keysOf(await as(B, `${A}/dec_keys`, { key_IDs }));
    expect(fetched).toEqual(firstKeys);

    const again = await as(B, `${A}/dec_keys`, { key_IDs });
    refused(again, 400, A, B);
    expect(again.body.message).toBe(KEYS_NOT_FOUND);
  });

  it('refuses an SAE that is not a slave of the keys with 401, and serves GET dec_keys for a fresh key', async () => {
    const stranger = await as(C, `${A}/dec_keys`, { key_IDs: [{ key_ID: freshKey.key_ID }] });
    refused(stranger, 401, A, C);
    expect(typeof stranger.body.message).toBe('string');

    const [fetched] = keysOf(await as(B, `${A}/dec_keys?key_ID=${freshKey.key_ID}`));
    expect(fetched).toEqual(freshKey);
  });

  it('refuses a size that is not whole bytes, and a request larger than the pool without reserving anything', async () => {
    const odd = await as(A, `${B}/enc_keys`, { number: 1, size: 100 });
    refused(odd, 400, B, A);
    expect(odd.body.message).toBe('size shall be a multiple of 8');

    const before = await balance();
    const count = await storedKeyCount();
    expect(128 * 1024).toBeGreaterThan(before.available);
    const tooMany = await as(A, `${B}/enc_keys`, { number: 128, size: 8192 });
    refused(tooMany, 503, B, A);
    expect(tooMany.body.message).toMatch(/not available/);
    expect(await storedKeyCount()).toBe(count);
    expect(await balance()).toEqual(before);
  });

  it('refuses a revoked SAE with 401, and a client without a certificate at the handshake', async () => {
    const revoked = runCli(env, 'admin', 'revoke', '--id', C, '--reason', 'gateway decommissioned');
    expect(revoked.status).toBe(0);
    refused(await as(C, `${A}/status`), 401, A, C);
    refused(await as(C, `${A}/enc_keys`, { number: 1 }), 401, A, C);

    await expect(as(undefined, `${B}/status`)).rejects.toThrow();
    await server!.waitFor(/etsi\.handshake_refused/);
  });

  it('forgets nothing when killed: delivered keys stay delivered, the others are fetched once', async () => {
    const [delivered, waiting] = keysOf(await as(A, `${B}/enc_keys`, { number: 2 }));
    expect(keysOf(await as(B, `${A}/dec_keys`, { key_IDs: [{ key_ID: delivered.key_ID }] }))).toEqual([delivered]);

    await server!.stop('SIGKILL');
    server = await startServer(env);

    for (const key of [delivered, ...firstKeys]) {
      const again = await as(B, `${A}/dec_keys`, { key_IDs: [{ key_ID: key.key_ID }] });
      refused(again, 400, A, B);
      expect(again.body.message).toBe(KEYS_NOT_FOUND);
    }
    expect(keysOf(await as(B, `${A}/dec_keys`, { key_IDs: [{ key_ID: waiting.key_ID }] }))).toEqual([waiting]);
    refused(await as(B, `${A}/dec_keys?key_ID=${waiting.key_ID}`), 400, A, B);

    const { reserved, ...rest } = await balance();
    expect(reserved).toBe(0);
    expect(rest.available + rest.issued + rest.frozen + rest.consumed + rest.destroyed).toBe(rest.ingested);
  }, 60_000);

  it('shows every refusal, every issue and every delivery to an auditor', async () => {
    const at = headPosition(path.join(dataDir, 'qkmp.db'));
    const audit = async (action: string) => {
      const answer = await graphql(
        server!.graphqlUrl,
        auditor,
        'query($action: String, $at: SafeInt) { audit(filter: { action: $action }, first: 50, consistentWith: $at) { total items { action target actorId actorRole outcome reason } } }',
        { action, at },
      );
      expect(answer.errors).toBeUndefined();
      return answer.data.audit as { total: number; items: { target: string; actorId: string; actorRole: string; outcome: string; reason: string | null }[] };
    };

    const refusalsSeen = await audit('SaeKeyRequestRefused');
    const byPair = (entries: readonly { target: string; actorId: string }[]) => entries.map((e) => `${e.target} by ${e.actorId}`).sort();
    expect(byPair(refusalsSeen.items)).toEqual(byPair(refusals));
    expect(refusalsSeen.items.every((e) => e.actorRole === 'GATEWAY')).toBe(true);
    for (const entry of refusalsSeen.items) {
      expect(entry.outcome).toBe('REFUSED');
      expect(entry.reason).toMatch(new RegExp(`^(400|401|503) (STATUS|ENC_KEYS|DEC_KEYS) by SAE ${entry.actorId}: .+`));
    }

    const issued = await audit('SaeKeysIssued');
    expect(issued.total).toBe(3);
    expect(issued.items.every((e) => e.target === `sae:${A}` && e.actorId === A)).toBe(true);
    const delivered = await audit('SaeKeysDelivered');
    expect(delivered.total).toBe(4);
    expect(delivered.items.every((e) => e.target === `sae:${A}` && e.actorId === B && e.outcome === 'SUCCESS')).toBe(true);
  });
});
