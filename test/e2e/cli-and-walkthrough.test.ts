import Database from 'better-sqlite3';
import { ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { withoutQkmpSettings } from '../support/qkmp-process';

// The programs a newcomer runs: the built `qkmp` command line and server on the embedded defaults,
// driven the way the README says, with the README's own GraphQL examples pasted in.

const root = path.join(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'bin', 'qkmp.js');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

const env = (dataDir: string) => ({ ...withoutQkmpSettings(), QKMP_DATA_DIR: dataDir, QKMP_LISTEN: '127.0.0.1:0', QKMP_ETSI_LISTEN: '127.0.0.1:0', NODE_ENV: 'test' });
const qkmp = (dataDir: string, ...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { env: env(dataDir), encoding: 'utf8', timeout: 30_000 });

const tokenOf = (dataDir: string, role: string): string => {
  const created = qkmp(dataDir, 'admin', 'create', '--name', `${role} console`, '--role', role);
  expect(created.status).toBe(0);
  expect(created.stdout).toContain(`created in SQLite file ${path.join(dataDir, 'qkmp.db')}.`);
  const token = created.stdout.trim().split('\n').at(-1)!;
  expect(token).toMatch(/^qkmp_[A-Za-z0-9_-]{40,}$/);
  return token;
};

/** The walk-through's GraphQL blocks, each with the role its first line names. */
const walkthrough = (): { role: string; query: string }[] => {
  const section = readme.slice(readme.indexOf('## Walk-through'), readme.indexOf('## Configuration'));
  return [...section.matchAll(/```graphql\n# as (\w+)\n([\s\S]*?)```/g)].map(([, role, query]) => ({ role, query }));
};

describe('the command line and the README walk-through, end to end', () => {
  let dataDir: string;
  let server: ChildProcessWithoutNullStreams | undefined;
  beforeAll(() => {
    expect(fs.existsSync(cli)).toBe(true); // built by the test command, like npm start builds it
  });
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-e2e-'));
  });
  afterEach(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((resolve) => server!.once('exit', resolve));
    }
    server = undefined;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (): Promise<{ url: string; output: () => string }> => {
    server = spawn(process.execPath, [cli, 'serve'], { env: env(dataDir) });
    let output = '';
    server.stdout.on('data', (chunk) => (output += chunk));
    server.stderr.on('data', (chunk) => (output += chunk));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${output}`)), 20_000);
      server!.stdout.on('data', () => {
        const found = /listening at (http:\/\/\S+)/.exec(output);
        if (found && output.includes('Stop with Ctrl-C')) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      });
    });
    return { url, output: () => output };
  };

  const gql = async (url: string, token: string, query: string) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query }),
    });
    return (await response.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
  };

  it('prints its usage, and refuses a bad command with the usage and exit code 2', () => {
    const usage = qkmp(dataDir, 'help').stdout;
    expect(usage).toMatch(/usage: qkmp <command>/);
    // Every variable the configuration reads is named there.
    const config = fs.readFileSync(path.join(root, 'infrastructure', 'config.ts'), 'utf8');
    for (const variable of new Set(config.match(/QKMP_[A-Z_]+/g))) expect(usage).toMatch(new RegExp(`\\b${variable}\\b`));
    const charger = qkmp(dataDir, 'admin', 'create', '--name', 'kiosk', '--role', 'CHARGER');
    expect(charger.status).toBe(2);
    expect(charger.stderr).toMatch(/^qkmp: --id is required for a CHARGER: give the charger's id/);
    const bad = qkmp(dataDir, 'launch');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown command launch[\s\S]*usage: qkmp/);
    const noRole = qkmp(dataDir, 'admin', 'create', '--name', 'x', '--role', 'ROOT');
    expect(noRole.status).toBe(2);
    expect(noRole.stderr).toMatch(/--role must be one of SECURITY_ADMIN/);
  });

  it('stops on SIGTERM in production as on Ctrl-C: closing the stores, exit code 0, no write-ahead files left', async () => {
    const child = spawn(process.execPath, [cli, 'serve'], { env: { ...env(dataDir), NODE_ENV: 'production' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    for (let i = 0; i < 200 && !output.includes('Stop with Ctrl-C'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fs.existsSync(path.join(dataDir, 'qkmp.db-wal'))).toBe(true);
    // A connection to the key delivery port that never starts its handshake does not hold the stop.
    const etsiPort = Number(/mutual TLS\): https:\/\/127\.0\.0\.1:(\d+)/.exec(output)![1]);
    const silent = net.connect(etsiPort, '127.0.0.1');
    silent.on('error', () => undefined);
    await new Promise((resolve) => silent.once('connect', resolve));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    silent.destroy();
    expect(output).toMatch(/qkmp: stopping \(a second Ctrl-C ends it at once\)\n/);
    expect(output).not.toMatch(/\n    at /);
    expect(fs.readdirSync(dataDir).filter((file) => file.endsWith('-wal') || file.endsWith('-shm'))).toEqual([]);
  });

  it('says what a reader that stopped early lost, instead of a stack trace', () => {
    const piped = (...args: string[]) =>
      spawnSync('bash', ['-c', `"${process.execPath}" "${cli}" ${args.join(' ')} | head -c 0; echo "exit \${PIPESTATUS[0]}" >&2`], {
        env: env(dataDir),
        encoding: 'utf8',
      });
    const token = piped('admin', 'create', '--name', 'piped', '--role', 'AUDITOR');
    expect(token.stderr).toBe('qkmp: the output was closed before all of it was written; the token it held is lost: make a new one with admin rotate --id ID\nexit 1\n');
    expect(piped('audit', 'verify').stderr).toBe('qkmp: the output was closed before all of it was written\nexit 1\n');
    // Options first: the command is still the one that printed a token.
    expect(piped('--name', 'first', '--role', 'AUDITOR', 'admin', 'create').stderr).toBe(token.stderr);
  });

  it('names the variable when the configuration is wrong', () => {
    const run = spawnSync(process.execPath, [cli, 'audit', 'verify'], {
      env: { ...env(dataDir), QKMP_EVENT_STORE: 'mysql://x' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^qkmp: QKMP_EVENT_STORE: must be one of/);
  });

  it("says in one line why the log cannot be reached, with the driver's reason", async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const run = spawnSync(process.execPath, [cli, 'admin', 'create', '--name', 'x', '--role', 'AUDITOR'], {
      env: { ...env(dataDir), QKMP_EVENT_STORE: `postgres://postgres@127.0.0.1:${closed}/test` },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `qkmp: the PostgreSQL event store is unavailable; check that it is running and reachable, then retry: connect ECONNREFUSED 127.0.0.1:${closed}; check QKMP_EVENT_STORE\n`,
    );
  });

  it('names the variable that moves a server off a port another program holds, without a stack trace', async () => {
    const holder = net.createServer();
    const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as net.AddressInfo).port)));
    try {
      for (const variable of ['QKMP_LISTEN', 'QKMP_ETSI_LISTEN']) {
        const child = spawn(process.execPath, [cli, 'serve'], { env: { ...env(dataDir), [variable]: `127.0.0.1:${port}` } });
        let stderr = '';
        child.stderr.on('data', (chunk) => (stderr += chunk));
        const code = await new Promise((resolve) => child.once('exit', resolve));
        expect(code).toBe(1);
        const what = variable === 'QKMP_LISTEN' ? 'GraphQL' : 'key delivery';
        expect(stderr).toBe(
          `qkmp: cannot serve ${what} on 127.0.0.1:${port}: another program listens there; stop that program or set ${variable} to another [HOST:]PORT\n`,
        );
      }
    } finally {
      holder.close();
    }
  });

  it('serves the walk-through: steps 1 and 2 of the paper, the views and the audit', async () => {
    const tokens: Record<string, string> = {};
    for (const role of ['SECURITY_ADMIN', 'USER_ADMIN', 'AUDITOR']) tokens[role] = tokenOf(dataDir, role);
    expect(fs.statSync(path.join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);

    const { url, output } = await start();
    expect(output()).toContain(path.join(dataDir, 'qkmp.db'));
    expect(output()).toContain(`audit head:  ${path.join(dataDir, 'audit-head.json')}`);
    expect(output()).toMatch(/admin create --name .* --role SECURITY_ADMIN/);
    // The commands it suggests act on this installation only in a shell with the same variables.
    expect(output()).toMatch(/In another shell, set QKMP_DATA_DIR as for this server first/);

    const blocks = walkthrough();
    expect(blocks.map((b) => b.role)).toEqual(['SECURITY_ADMIN', 'USER_ADMIN', 'USER_ADMIN', 'USER_ADMIN', 'USER_ADMIN', 'AUDITOR']);
    let position = 0;
    const answers = [];
    for (const { role, query } of blocks) {
      // The README's queries carry no consistentWith; the harness waits for the views instead.
      if (query.trim().startsWith('query')) {
        for (let i = 0; i < 100; i++) {
          const status = await gql(url, tokens.AUDITOR, '{ viewsStatus { position } }');
          if (status.data?.viewsStatus.position >= position) break;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      const answer = await gql(url, tokens[role], query);
      expect(answer.errors).toBeUndefined();
      const receipt = Object.values(answer.data)[0] as { position?: number };
      if (typeof receipt.position === 'number' && query.trim().startsWith('mutation')) position = receipt.position;
      answers.push(answer.data);
    }
    expect(answers[3].device).toMatchObject({ serial: 'UKEY-2026-0001', status: 'ACTIVE', organisation: 'grid-shandong-jinan', userId: 'lineman-0042' });
    expect(answers[4]).toEqual({ deviceBalance: { charged: 0, consumed: 0, frozen: 0, destroyed: 0, remaining: 0 }, pools: [] });
    expect(answers[5].audit.items.map((i: { action: string }) => i.action)).toEqual(['DeviceBound', 'DeviceDistributed', 'DeviceInitialized']);

    // Pasting a mutation again changes nothing: the same command id gives the first receipt.
    const again = await gql(url, tokens.SECURITY_ADMIN, blocks[0].query.replace('events { type }', 'events { type } replayed'));
    expect(again.data.initializeDevice).toMatchObject({ revision: 0, replayed: true });

    // A user administrator may not destroy a device: refused, audited, nothing changed.
    const refused = await gql(url, tokens.USER_ADMIN, 'mutation { destroyDevice(input: { commandId: "e2e-destroy-1", serial: "UKEY-2026-0001", reason: "x" }) { position } }');
    expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');

    // The server keeps running while the command line verifies the chain over the same file.
    const verified = qkmp(dataDir, 'audit', 'verify');
    expect(verified.stdout).toMatch(/audit chain intact: \d+ events checked/);
    expect(verified.status).toBe(0);
  }, 60_000);

  it('audit verify finds an event edited directly in the database, at its position', () => {
    tokenOf(dataDir, 'AUDITOR');
    tokenOf(dataDir, 'USER_ADMIN');
    expect(qkmp(dataDir, 'audit', 'verify').status).toBe(0);
    const db = new Database(path.join(dataDir, 'qkmp.db'));
    db.prepare("UPDATE events SET data = replace(data, 'AUDITOR', 'SECURITY_ADMIN') WHERE position = 1").run();
    db.close();
    const broken = qkmp(dataDir, 'audit', 'verify');
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/audit chain BROKEN at position 1/);
  });

  it('audit verify finds events deleted from the end of the log, even after new ones were appended', () => {
    for (const role of ['AUDITOR', 'USER_ADMIN', 'GATEWAY']) tokenOf(dataDir, role);
    expect(qkmp(dataDir, 'audit', 'verify').status).toBe(0);
    const db = new Database(path.join(dataDir, 'qkmp.db'));
    db.prepare('DELETE FROM events WHERE position = (SELECT max(position) FROM events)').run();
    db.close();
    tokenOf(dataDir, 'SECURITY_ADMIN'); // the log grows back to its old length, sealed by the platform
    const broken = qkmp(dataDir, 'audit', 'verify');
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/audit chain BROKEN at position 3/);
  });

  it('a running server keeps the head up with the log, so a cut made later shows though no one verified before it', async () => {
    await start();
    for (const role of ['AUDITOR', 'USER_ADMIN', 'GATEWAY']) tokenOf(dataDir, role);
    const headFile = path.join(dataDir, 'audit-head.json');
    const kept = () => (fs.existsSync(headFile) ? (JSON.parse(fs.readFileSync(headFile, 'utf8')) as { position: number }).position : 0);
    for (let i = 0; i < 100 && kept() < 3; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(kept()).toBe(3);
    server!.kill('SIGTERM');
    await new Promise((resolve) => server!.once('exit', resolve));

    const db = new Database(path.join(dataDir, 'qkmp.db'));
    db.prepare('DELETE FROM events WHERE position = 3').run();
    db.close();
    tokenOf(dataDir, 'SECURITY_ADMIN');
    const broken = qkmp(dataDir, 'audit', 'verify');
    expect(broken.stdout).toMatch(/audit chain BROKEN at position 3/);
    expect(broken.status).toBe(1);
  });

  it('audit verify refuses a head record rewritten to hide events deleted from the end', () => {
    for (const role of ['AUDITOR', 'USER_ADMIN', 'GATEWAY']) tokenOf(dataDir, role);
    const headFile = path.join(dataDir, 'audit-head.json');
    expect(qkmp(dataDir, 'audit', 'verify').stdout).toMatch(/intact: 3 events checked; no earlier verification was recorded/);
    expect(fs.statSync(headFile).mode & 0o777).toBe(0o600);
    expect(qkmp(dataDir, 'audit', 'verify').stdout).toMatch(/the head the last verification saw \(position 3\) is still in place/);

    const db = new Database(path.join(dataDir, 'qkmp.db'));
    db.prepare('DELETE FROM events WHERE position = 3').run();
    const cut = db.prepare('SELECT position, chain FROM events ORDER BY position DESC LIMIT 1').get() as { position: number; chain: Buffer };
    db.close();
    // Whoever can write the data directory can read the chain values and record the cut log's head.
    const recorded = JSON.parse(fs.readFileSync(headFile, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(headFile, JSON.stringify({ ...recorded, position: cut.position, chain: cut.chain.toString('hex') }));
    tokenOf(dataDir, 'SECURITY_ADMIN');
    const broken = qkmp(dataDir, 'audit', 'verify');
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/audit chain BROKEN: .*audit-head\.json, the head the last verification saw, is not sealed with this platform's key/);

    // Nor can the record be removed silently: the check says what it could not rule out.
    fs.rmSync(headFile);
    expect(qkmp(dataDir, 'audit', 'verify').stdout).toMatch(/no earlier verification was recorded in .*audit-head\.json, so events cut from the end/);
  });

  it('keeps the audit head and the key vault of each log apart when two stores share the data directory', () => {
    const other = { QKMP_EVENT_STORE: `sqlite:${path.join(dataDir, 'other.db')}` };
    const run = (extra: Record<string, string>, ...args: string[]) =>
      spawnSync(process.execPath, [cli, ...args], { env: { ...env(dataDir), ...extra }, encoding: 'utf8', timeout: 60_000 });
    for (const role of ['AUDITOR', 'USER_ADMIN', 'GATEWAY']) tokenOf(dataDir, role);
    expect(run({}, 'keys', 'generate', '--bytes', '4096').status).toBe(0);
    expect(qkmp(dataDir, 'audit', 'verify').stdout).toMatch(/intact: \d+ events checked; no earlier verification was recorded/);
    const vault = () => {
      const db = new Database(path.join(dataDir, 'vault.db'), { readonly: true });
      try {
        return db.prepare('SELECT count(*) AS n, sum(length) AS bytes FROM entries').get();
      } finally {
        db.close();
      }
    };
    const held = vault();

    // A newer, shorter log beside it is not the first log cut short, and fills a pool of its own.
    expect(run(other, 'admin', 'create', '--name', 'other', '--role', 'AUDITOR').status).toBe(0);
    const fresh = run(other, 'audit', 'verify');
    expect(fresh.stdout).toMatch(/intact: 1 events checked; no earlier verification was recorded in .*audit-head-sqlite-[0-9a-f]{12}\.json/);
    expect(fresh.status).toBe(0);
    expect(run(other, 'keys', 'generate', '--bytes', '4096').status).toBe(0);
    expect(vault()).toEqual(held);

    const first = qkmp(dataDir, 'audit', 'verify');
    expect(first.stdout).toMatch(/the head the last verification saw \(position \d+\) is still in place/);
    expect(first.status).toBe(0);
  });

  it("refuses to fill or serve through a vault that holds less of the pool than the log counts", async () => {
    expect(qkmp(dataDir, 'keys', 'generate', '--bytes', '4096').status).toBe(0);
    // As a store address written another way would: a new, empty vault file for the same log.
    const elsewhere = { ...env(dataDir), QKMP_VAULT_FILE: path.join(dataDir, 'vault-new.db') };
    const refusal = new RegExp(
      `^qkmp: key vault ${path.join(dataDir, 'vault-new.db')}: it holds 0 bytes of key pool bb84, where the log counts \\d+ available: it is not this log's vault\\.`,
    );
    const fill = spawnSync(process.execPath, [cli, 'keys', 'generate', '--bytes', '4096'], { env: elsewhere, encoding: 'utf8', timeout: 60_000 });
    expect(fill.status).toBe(1);
    expect(fill.stderr).toMatch(refusal);
    const serve = spawn(process.execPath, [cli, 'serve'], { env: elsewhere });
    let stderr = '';
    serve.stderr.on('data', (chunk) => (stderr += chunk));
    expect(await new Promise((resolve) => serve.once('exit', resolve))).toBe(1);
    expect(stderr).toMatch(refusal);
    // Refused before anything followed the log through it, and not left behind.
    expect(fs.existsSync(path.join(dataDir, 'vault-new.db'))).toBe(false);
  });

  it('leaves no key vault file behind for commands that put no key in it', () => {
    tokenOf(dataDir, 'AUDITOR');
    expect(qkmp(dataDir, 'audit', 'verify').status).toBe(0);
    expect(fs.readdirSync(dataDir).filter((file) => file.startsWith('vault'))).toEqual([]);
    expect(qkmp(dataDir, 'keys', 'generate', '--bytes', '2048').status).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'vault.db'))).toBe(true);
  });

  it('audit verify on an empty log says there is no head yet, and records none', () => {
    const run = qkmp(dataDir, 'audit', 'verify');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/audit chain intact: 0 events checked; the log is empty, so there is no head to record yet/);
    expect(fs.existsSync(path.join(dataDir, 'audit-head.json'))).toBe(false);
  });

  it('audit verify --since checks a head kept off the machine, which an older sealed record put back cannot fool', () => {
    for (const role of ['AUDITOR', 'USER_ADMIN']) tokenOf(dataDir, role);
    const first = qkmp(dataDir, 'audit', 'verify');
    const anchor = /^head: (\d+:[0-9a-f]{64})$/m.exec(first.stdout)![1];
    expect(anchor).toMatch(/^2:/);
    const headFile = path.join(dataDir, 'audit-head.json');
    const older = fs.readFileSync(headFile);
    tokenOf(dataDir, 'GATEWAY');
    const grown = qkmp(dataDir, 'audit', 'verify', '--since', anchor);
    expect(grown.status).toBe(0);
    expect(grown.stdout).toMatch(/so is the head given \(position 2\)[\s\S]*head: 3:/);

    // Cut back to the older head, with the older sealed record put back: the record alone passes ...
    const db = new Database(path.join(dataDir, 'qkmp.db'));
    db.prepare('DELETE FROM events WHERE position = 3').run();
    db.close();
    fs.writeFileSync(headFile, older);
    expect(qkmp(dataDir, 'audit', 'verify').status).toBe(0);
    // ... but a head kept from the later run does not.
    const kept = /^head: (\d+:[0-9a-f]{64})$/m.exec(grown.stdout)![1];
    const broken = qkmp(dataDir, 'audit', 'verify', '--since', kept);
    expect(broken.status).toBe(1);
    expect(broken.stdout).toMatch(/audit chain BROKEN at position 3/);
    expect(qkmp(dataDir, 'audit', 'verify', '--since', '3:xyz').stderr).toMatch(/--since must be POSITION:CHAIN/);
    expect(qkmp(dataDir, 'audit', 'verify', '--since', `0:${'0'.repeat(64)}`).stderr).toMatch(/--since must be POSITION:CHAIN/);
  });

  it('explains that in-memory views need no rebuild', () => {
    const run = qkmp(dataDir, 'projections', 'rebuild');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/views are in memory/);
  });
});
