import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createClient, RESP_TYPES } from 'redis';
import { SqliteEventStore } from '../../infrastructure/event-store/sqlite';
import { MasterKey } from '../../infrastructure/keys/master-key';
import { SqliteKeyVault } from '../../infrastructure/keys/sqlite-key-vault';
import { RedisViewStore } from '../../infrastructure/read-models/redis-view-store';
import { fragmentsOf, printedForms } from '../keys/support';
import { REDIS_URL, testNamespace } from '../read-models/support/redis';
import { Answer } from '../etsi/support/tls';
import { CLI, etsi, graphql, headPosition, qkmpEnv, RunningServer, runCli, saeFiles, SaeFiles, startServer, tokenFrom } from '../support/qkmp-process';

// The invariant "nothing secret reaches an event, a log line, an error or a view", checked on the
// real thing: key delivered over ETSI GS QKD 014 by the built server, with its views in Redis, and
// then every place a secret could have leaked to searched for every key handed out, in every form
// a program might print it in, and for the master key and a console token.

const A = 'GATEWAY-SCAN-A';
const B = 'GATEWAY-SCAN-B';

interface Secret {
  readonly name: string;
  readonly bytes: Buffer;
}

/** A secret's 16-byte pieces, raw and printed (hex, base64, base64url): a piece of a key is a leak too. */
const needlesOf = (secret: Secret): { name: string; needle: Buffer }[] =>
  fragmentsOf(secret.bytes).flatMap((fragment, i) => [
    { name: `${secret.name} piece ${i} raw`, needle: fragment },
    ...printedForms(fragment).map((form) => ({ name: `${secret.name} piece ${i} as ${form}`, needle: Buffer.from(form) })),
    { name: `${secret.name} piece ${i} as HEX`, needle: Buffer.from(fragment.toString('hex').toUpperCase()) },
  ]);

/** Every byte the vault holds, read through the vault with the platform's wrapping key. */
const heldMaterial = async (vaultFile: string, masterKey: Buffer): Promise<Buffer> => {
  const raw = new Database(vaultFile, { readonly: true });
  const entries = raw.prepare<[], { source_id: string; offset: number; length: number }>('SELECT source_id, offset, length FROM entries ORDER BY offset').all();
  raw.close();
  const vault = SqliteKeyVault.open(vaultFile, MasterKey.fromBytes(masterKey).derive('key-vault/v1'));
  try {
    return Buffer.concat(await Promise.all(entries.map((e) => vault.read(e.source_id, e.offset, e.length))));
  } finally {
    await vault.close();
  }
};

/** Which of the secrets occur in a haystack, by name; [] is the only good answer. */
const leaks = (haystack: Buffer, secrets: readonly Secret[]): string[] =>
  secrets.flatMap(needlesOf).filter(({ needle }) => haystack.includes(needle)).map(({ name }) => name);

const filesOf = (file: string): Buffer => Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));

describe('no secret reaches an event, a log line, an error or a view', () => {
  const namespace = testNamespace('secret-scan');
  const redis = createClient({ url: REDIS_URL }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  let dataDir: string;
  let server: RunningServer | undefined;

  beforeAll(async () => {
    expect(fs.existsSync(CLI)).toBe(true); // built by the test command
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-e2e-scan-'));
    await redis.connect();
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    const views = RedisViewStore.open(REDIS_URL, namespace);
    try {
      if (await views.ready(5000)) await views.drop();
    } finally {
      await views.close();
    }
    await redis.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /** Every key under the namespace with its value, whatever its type, as one buffer. */
  const redisContents = async (): Promise<{ keys: number; contents: Buffer }> => {
    const parts: Buffer[] = [];
    let keys = 0;
    for await (const batch of redis.scanIterator({ MATCH: `${namespace}*`, COUNT: 500 })) {
      for (const key of batch) {
        keys++;
        parts.push(Buffer.from(key));
        const type = (await redis.type(key)).toString();
        const values: Buffer[] =
          type === 'string'
            ? [(await redis.get(key))!]
            : type === 'hash'
              ? Object.entries(await redis.hGetAll(key)).flatMap(([field, value]) => [Buffer.from(field), value])
              : type === 'zset'
                ? await redis.zRange(key, 0, -1)
                : type === 'set'
                  ? await redis.sMembers(key)
                  : type === 'list'
                    ? await redis.lRange(key, 0, -1)
                    : [];
        expect([key, type]).toEqual([key, expect.stringMatching(/^(string|hash|zset|set|list)$/)]);
        parts.push(...values);
      }
    }
    return { keys, contents: Buffer.concat(parts) };
  };

  it('finds no key handed out, no master key and no token in the log, the log file, the server output, the views or the CLI output', async () => {
    const env = qkmpEnv(dataDir, { QKMP_READ_MODELS: REDIS_URL, QKMP_VIEWS_NAMESPACE: namespace });
    const cliOutputs: string[] = [];
    const cli = (...args: string[]) => {
      const run = runCli(env, ...args);
      cliOutputs.push(run.stdout, run.stderr);
      expect(run.status).toBe(0);
      return run;
    };
    cli('keys', 'generate', '--bytes', '20000');
    const sae: Record<string, SaeFiles> = {};
    for (const id of [A, B]) {
      cli('sae', 'register', '--id', id, '--out', path.join(dataDir, id));
      sae[id] = saeFiles(id, path.join(dataDir, id));
    }
    const auditor = tokenFrom(runCli(env, 'admin', 'create', '--name', 'Auditor', '--role', 'AUDITOR'));
    server = await startServer(env);
    const as = (caller: string, pathAndQuery: string, body?: unknown): Promise<Answer> =>
      etsi(server!.etsiUrl, sae[caller], sae[A].ca, pathAndQuery, body);

    // Keys of several sizes, by POST and GET; each fetched by the slave, by POST and GET, but the last batch.
    const obtained = new Map<string, Buffer>();
    const obtain = async (pathAndQuery: string, body?: unknown): Promise<{ key_ID: string; key: string }[]> => {
      const answer = await as(A, pathAndQuery, body);
      expect(answer.status).toBe(200);
      for (const { key_ID, key } of answer.body.keys) obtained.set(key_ID, Buffer.from(key, 'base64'));
      return answer.body.keys;
    };
    const batches = [
      await obtain(`${B}/enc_keys`, { number: 5, size: 256 }),
      await obtain(`${B}/enc_keys?number=2&size=512`),
      await obtain(`${B}/enc_keys`, { number: 1, size: 8192 }),
      await obtain(`${B}/enc_keys`),
    ];
    for (const [i, batch] of batches.entries()) {
      const fetched =
        i % 2 === 0
          ? [await as(B, `${A}/dec_keys`, { key_IDs: batch.map(({ key_ID }) => ({ key_ID })) })]
          : await Promise.all(batch.map(({ key_ID }) => as(B, `${A}/dec_keys?key_ID=${key_ID}`)));
      expect(fetched.flatMap((answer) => answer.body.keys)).toEqual(batch);
    }
    const fetchedBytes = [...obtained.values()].reduce((sum, key) => sum + key.length, 0);
    // Keys the slave has not fetched yet are still in the vault: sealed, never in the clear.
    await obtain(`${B}/enc_keys`, { number: 4, size: 512 });
    expect(obtained.size).toBe(13);
    // Refusals carry messages and details: they must not carry key either.
    const again = await as(B, `${A}/dec_keys`, { key_IDs: batches[0].map(({ key_ID }) => ({ key_ID })) });
    expect(again.status).toBe(400);
    expect((await as(A, `${B}/enc_keys`, { number: 128, size: 8192 })).status).toBe(503);
    expect((await as(A, `${B}/enc_keys`, { size: 100 })).status).toBe(400);

    // The views in Redis catch up with the whole log before they are searched.
    const dbFile = path.join(dataDir, 'qkmp.db');
    const head = headPosition(dbFile);
    const views = await graphql(
      server.graphqlUrl,
      auditor,
      'query($at: SafeInt) { pools(consistentWith: $at) { sourceId ingested available issued consumed } audit(first: 50, consistentWith: $at) { total items { action target actorId outcome reason } } }',
      { at: head },
    );
    expect(views.errors).toBeUndefined();
    // Asked after: fields of one query run side by side, and viewsStatus does not wait for consistentWith.
    const status = await graphql(server.graphqlUrl, auditor, '{ viewsStatus { position } }');
    expect(status.data.viewsStatus.position).toBeGreaterThanOrEqual(head);
    expect(views.data.pools[0]).toMatchObject({ consumed: fetchedBytes, issued: 4 * 64 });

    const masterKey = Buffer.from(fs.readFileSync(path.join(dataDir, 'master.key'), 'utf8').trim(), 'base64');
    expect(masterKey).toHaveLength(32);
    const keys: Secret[] = [...obtained].map(([keyId, bytes]) => ({ name: `key ${keyId}`, bytes }));
    const master: Secret = { name: 'the master key', bytes: masterKey };
    const secrets: Secret[] = [...keys, master, { name: 'the auditor token', bytes: Buffer.from(auditor) }];

    // While the server runs, the log's newest pages are in its -wal file.
    const logFilesWhileRunning = filesOf(dbFile);
    const vaultWhileRunning = filesOf(path.join(dataDir, 'vault.db'));
    const store = new SqliteEventStore(dbFile);
    const events = await store.readAll();
    await store.close();
    expect(events.at(-1)!.position).toBe(head);
    const types = new Set(events.map((e) => e.type));
    for (const type of ['KeyMaterialIngested', 'KeyRangeReserved', 'SaeKeysIssued', 'SaeKeysDelivered', 'KeyRangeConsumed', 'SaeKeyRequestRefused']) {
      expect(types).toContain(type);
    }
    const { keys: redisKeys, contents: redisValues } = await redisContents();
    expect(redisKeys).toBeGreaterThan(10);

    await server.stop('SIGTERM');
    const serverOutput = server.output();
    expect(serverOutput).toMatch(/qkmp: stopping/);
    server = undefined;

    expect(leaks(Buffer.from(JSON.stringify(events)), secrets)).toEqual([]);
    expect(leaks(Buffer.concat([logFilesWhileRunning, filesOf(dbFile)]), secrets)).toEqual([]);
    expect(leaks(Buffer.from(serverOutput), secrets)).toEqual([]);
    expect(leaks(redisValues, secrets)).toEqual([]);
    expect(leaks(Buffer.from(JSON.stringify(views)), secrets)).toEqual([]);
    expect(leaks(Buffer.from(JSON.stringify(again.body)), secrets)).toEqual([]);
    // The command line prints the token it makes, once, by design; nothing else secret.
    expect(leaks(Buffer.from(cliOutputs.join('\n')), [...keys, master])).toEqual([]);
    // The vault holds key sealed: no obtained key in the clear, nor the master key, nor any byte it holds.
    const vaultFile = path.join(dataDir, 'vault.db');
    const vaultAtRest = filesOf(vaultFile);
    const held = await heldMaterial(vaultFile, masterKey);
    expect(held.length).toBeGreaterThan(20000 - fetchedBytes - 4 * 64);
    expect(leaks(Buffer.concat([vaultWhileRunning, vaultAtRest]), [...keys, master, { name: 'held key', bytes: held }])).toEqual([]);

    // The search itself finds what it looks for.
    const [someKey] = keys;
    expect(leaks(Buffer.concat([Buffer.from('x'), someKey.bytes]), [someKey])).not.toEqual([]);
    expect(leaks(Buffer.from(`"${someKey.bytes.subarray(0, 16).toString('base64')}"`), [someKey])).not.toEqual([]);
    expect(leaks(Buffer.from(someKey.bytes.toString('hex').toUpperCase()), [someKey])).not.toEqual([]);
  }, 120_000);
});
