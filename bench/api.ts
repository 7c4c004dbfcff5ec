import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, MessagePort, parentPort, Worker, workerData } from 'node:worker_threads';
import express from 'express';
import * as E from 'fp-ts/Either';
import pg from 'pg';
import { expressMessages } from '../api/express-messages';
import { createApiServer } from '../api/server';
import { chargeKeyDelivery } from '../application/charge/deliver-keys';
import { KeyPool } from '../application/keypool/key-pool';
import { SqliteKeyVault } from '../infrastructure/keys/sqlite-key-vault';
import { AccessControl, createPrincipal } from '../application/access';
import { CommandBus } from '../application/command-bus';
import { AuditVerification, EventStore } from '../application/ports/event-store';
import { commandRoutes } from '../application/routes';
import { PostgresEventStore } from '../infrastructure/event-store/postgres';
import { SQLITE_PRAGMAS, SqliteEventStore } from '../infrastructure/event-store/sqlite';
import { MemoryViewStore } from '../infrastructure/read-models/memory-view-store';
import { Projector } from '../read-models/projector';
import { createReadModels } from '../read-models/read-models';
import { median } from './measure';

// The API's cost over the work it wraps, one JSON line per figure, measured in the same run:
// - a device(serial) query at 32 concurrent clients against a bare Express route that reads the
//   same view from the same read models (no auth, no GraphQL), served with the same request
//   classes as the API (api/express-messages.ts); then, for information only, against the same
//   route served as Express ships (http.createServer(app)), which shows what those classes buy;
// - an InitializeDevice mutation at 32 concurrent clients against CommandBus.execute called
//   directly on the same store: the embedded default (a SQLite file), then PostgreSQL, which
//   production runs, when DATABASE_URL (or the local default) answers. Each name states the store
//   and its durability setting.
// The platform (both HTTP servers, the bus, the store, the projector) runs in a worker thread as
// production runs it (NODE_ENV=production), with every protection on: authentication, rate limit,
// armor, masking. The clients run in the main thread, so they never share the servers' event loop;
// like autocannon they hold 32 keep-alive connections, opened before the clock starts, and write
// pre-built requests, so the client's HTTP stack takes as little as it can of the shared CPU. A
// command run ends when the views have applied its events, so each side pays for its own
// projection. Each comparison runs one warm-up round, then ROUNDS rounds alternating which side
// goes first, and reports the median of each figure. Throughput lines also give `cpu`: the same
// rate per second of the platform thread's own CPU time (Linux /proc), with its baseline and
// ratio, which leaves out the time other processes of a shared machine held the core (and, for a
// mutation, the time the thread waited for the disk).

const CONCURRENCY = 32;
const ROUNDS = 5;
const QUERY_REQUESTS = 4000;
const MUTATION_REQUESTS = 1000;
const SERIAL = 'BENCH-000001';
const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Elapsed time, the platform thread's CPU time and each request's latency, in ms. */
interface Run {
  readonly elapsedMs: number;
  readonly cpuMs: number;
  readonly latencies: readonly number[];
}

interface Line {
  readonly name: string;
  readonly value: number;
  readonly unit: 'requests/s' | 'ms';
  readonly baseline: number;
  readonly ratio: number;
  readonly cpu?: { readonly value: number; readonly baseline: number; readonly ratio: number };
}

type StoreChoice = { readonly kind: 'sqlite' } | { readonly kind: 'postgres'; readonly url: string; readonly schema: string };

/** What the platform thread tells the main thread once it listens. */
interface Ready {
  readonly apiPort: number;
  readonly barePort: number;
  /** The same route served as Express ships, without the API's request classes. */
  readonly stockPort: number;
  readonly tokens: { readonly reader: string; readonly admin: string };
}

type ToPlatform =
  | { readonly kind: 'direct'; readonly round: number }
  | { readonly kind: 'cpu' }
  | { readonly kind: 'settle'; readonly position: number }
  | { readonly kind: 'close' };
type FromPlatform =
  | { readonly kind: 'ready'; readonly ready: Ready }
  | { readonly kind: 'run'; readonly run: Run }
  | { readonly kind: 'cpu'; readonly ms: number }
  | { readonly kind: 'settled' }
  | { readonly kind: 'closed' };

const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time of the calling thread in ms (user + system, fields 14 and 15 of /proc/thread-self/stat,
 * in clock ticks of 10 ms); NaN where there is no such file.
 */
const threadCpuMs = (): number => {
  try {
    const stat = fs.readFileSync('/proc/thread-self/stat', 'latin1');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
};

/**
 * Runs `requests` calls of `call` from CONCURRENCY concurrent lanes (a lane is one client); the
 * clock stops once `settle` is done too. `cpuMs` reads the platform thread's CPU clock.
 */
const drive = async (
  requests: number,
  call: (n: number, lane: number) => Promise<void>,
  settle: () => Promise<void> = async () => {},
  cpuMs: () => Promise<number> | number = threadCpuMs,
): Promise<Run> => {
  const latencies: number[] = [];
  let next = 0;
  const cpuStarted = await cpuMs();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, lane) => {
      for (let n = next++; n < requests; n = next++) {
        const t = performance.now();
        await call(n, lane);
        latencies.push(performance.now() - t);
      }
    }),
  );
  await settle();
  const elapsedMs = performance.now() - started;
  return { elapsedMs, cpuMs: (await cpuMs()) - cpuStarted, latencies };
};

const initialize = (serial: string) => ({
  type: 'InitializeDevice',
  data: { serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: 'f'.repeat(64) },
});

// ---- the platform under test (worker thread) ----

const listening = (server: http.Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));

const openStore = (choice: StoreChoice): { store: EventStore; dispose: () => void } => {
  if (choice.kind === 'postgres') return { store: new PostgresEventStore(choice.url, { schema: choice.schema }), dispose: () => {} };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-bench-api-'));
  return { store: new SqliteEventStore(path.join(dir, 'events.db')), dispose: () => fs.rmSync(dir, { recursive: true, force: true }) };
};

const runPlatform = async (port: MessagePort, choice: StoreChoice): Promise<void> => {
  const { store, dispose } = openStore(choice);
  const bus = new CommandBus(store, commandRoutes);
  const access = await AccessControl.open(store, bus.load);
  const views = new MemoryViewStore();
  const projector = new Projector(store, views);
  projector.start();
  const readModels = createReadModels(views, projector);

  const issue = async (role: 'USER_ADMIN' | 'SECURITY_ADMIN') => {
    const issued = await createPrincipal(bus, { name: `bench ${role}`, role });
    if (E.isLeft(issued)) throw new Error(issued.left.message);
    await access.caughtUpTo(issued.right.position);
    return issued.right.token;
  };
  const tokens = { reader: await issue('USER_ADMIN'), admin: await issue('SECURITY_ADMIN') };
  const initialized = await bus.execute({ commandId: randomUUID(), actor: { id: 'bench', role: 'SYSTEM' } }, initialize(SERIAL));
  if (E.isLeft(initialized)) throw new Error(initialized.left.message);
  await readModels.waitFor(initialized.right.position, 5000);

  const auditVerify = async (): Promise<AuditVerification> => ({ ok: true, checked: 0, firstBadPosition: null, reason: null, since: null, head: null });
  // The limit is high enough never to refuse the benchmark, but every request is still counted.
  const api = await createApiServer(
    {
      bus,
      readModels,
      access,
      store,
      changes: projector,
      auditVerify,
      charging: chargeKeyDelivery(bus, new KeyPool(bus, SqliteKeyVault.open(':memory:', randomBytes(32)), randomBytes(32))),
    },
    { limits: { rateLimit: { windowMs: 60_000, limit: 10_000_000 } } },
  );
  const apiPort = await listening(api.httpServer);

  // The same Express settings as the API's app, so the difference is the API's own work.
  const bareApp = () => {
    const bare = express();
    bare.disable('x-powered-by');
    bare.disable('etag');
    bare.get('/device/:serial', async (req, res) => {
      res.json(await readModels.device(req.params.serial));
    });
    return bare;
  };
  const bare = bareApp();
  const bareServer = http.createServer(expressMessages(bare), bare);
  const barePort = await listening(bareServer);
  const stockServer = http.createServer(bareApp());
  const stockPort = await listening(stockServer);

  const settle = async (position: number): Promise<void> => {
    if (!(await readModels.waitFor(position, 60_000))) throw new Error(`the views did not reach log position ${position}`);
  };
  const direct = (r: number) => {
    let last = 0;
    return drive(
      MUTATION_REQUESTS,
      async (n) => {
        const id = String(n).padStart(6, '0');
        const result = await bus.execute(
          { commandId: `bench-direct-${r}-${id}`, actor: { id: 'bench', role: 'SECURITY_ADMIN' } },
          initialize(`DIRECT-${r}-${id}`),
        );
        if (E.isLeft(result)) throw new Error(result.left.message);
        last = Math.max(last, result.right.position);
      },
      () => settle(last),
    );
  };

  const reply = (message: FromPlatform) => port.postMessage(message);
  // A request that fails rejects, which ends the worker with an 'error' event for the main thread.
  port.on('message', (request: ToPlatform) => {
    switch (request.kind) {
      case 'direct':
        void direct(request.round).then((run) => reply({ kind: 'run', run }));
        return;
      case 'cpu':
        reply({ kind: 'cpu', ms: threadCpuMs() });
        return;
      case 'settle':
        void settle(request.position).then(() => reply({ kind: 'settled' }));
        return;
      case 'close':
        void (async () => {
          await api.close();
          await new Promise((resolve) => bareServer.close(resolve));
          await new Promise((resolve) => stockServer.close(resolve));
          await projector.stop();
          await access.close();
          await store.close();
          dispose();
          reply({ kind: 'closed' });
        })();
    }
  });
  reply({ kind: 'ready', ready: { apiPort, barePort, stockPort, tokens } });
};

if (!isMainThread && parentPort) void runPlatform(parentPort, workerData as StoreChoice);

// ---- the load generator (main thread) ----

interface Answer {
  readonly status: number;
  readonly body: string;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;

/**
 * One keep-alive HTTP/1.1 connection that sends one request at a time and reads the answer by its
 * Content-Length, which Express always sets for these answers.
 */
class Connection {
  private received: Buffer = Buffer.alloc(0);
  private waiting?: { resolve: (answer: Answer) => void; reject: (error: Error) => void };

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
      this.answer();
    });
    const fail = (error: Error) => {
      this.waiting?.reject(error);
      this.waiting = undefined;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('the server closed a keep-alive connection during a request')));
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  exchange(request: Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private answer(): void {
    const headEnd = this.received.indexOf(HEAD_END);
    if (headEnd < 0 || this.waiting === undefined) return;
    const head = this.received.toString('latin1', 0, headEnd);
    const length = CONTENT_LENGTH.exec(head);
    if (length === null) {
      this.waiting.reject(new Error(`an answer without Content-Length: ${head}`));
      this.waiting = undefined;
      return;
    }
    const bodyStart = headEnd + HEAD_END.length;
    const end = bodyStart + Number(length[1]);
    if (this.received.length < end) return;
    const answer = { status: Number(head.slice(9, 12)), body: this.received.toString('utf8', bodyStart, end) };
    this.received = this.received.subarray(end);
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve(answer);
  }
}

const requestBytes = (port: number, method: 'GET' | 'POST', target: string, headers: Readonly<Record<string, string>>, body = '') => {
  const all = { Host: `127.0.0.1:${port}`, ...headers, ...(method === 'POST' && { 'Content-Length': String(Buffer.byteLength(body)) }) };
  const lines = Object.entries(all).map(([name, value]) => `${name}: ${value}\r\n`);
  return Buffer.from(`${method} ${target} HTTP/1.1\r\n${lines.join('')}\r\n${body}`);
};

const POSITION = /"position":(\d+)/;

/**
 * Sends `requests` requests from CONCURRENCY connections, opened before the clock starts; `settle`
 * gets the highest log position the answers named.
 */
const load = async (
  port: number,
  requests: number,
  request: (n: number) => Buffer,
  cpuMs: () => Promise<number>,
  settle?: (position: number) => Promise<void>,
): Promise<Run> => {
  const connections = await Promise.all(Array.from({ length: CONCURRENCY }, () => Connection.open(port)));
  let last = 0;
  try {
    return await drive(
      requests,
      async (n, lane) => {
        const { status, body } = await connections[lane].exchange(request(n));
        // A failed request would measure an error path, not the API.
        if (status !== 200 || body.includes('"errors"')) throw new Error(`HTTP ${status}: ${body}`);
        if (settle) last = Math.max(last, Number(POSITION.exec(body)?.[1] ?? 0));
      },
      settle && (() => settle(last)),
      cpuMs,
    );
  } finally {
    connections.forEach((connection) => connection.close());
  }
};

type Platform = Ready & {
  direct(round: number): Promise<Run>;
  cpuMs(): Promise<number>;
  settle(position: number): Promise<void>;
  close(): Promise<void>;
};

/** A platform thread on the chosen store, asked one thing at a time. */
const startPlatform = async (choice: StoreChoice): Promise<Platform> => {
  const worker = new Worker(__filename, { workerData: choice, env: { ...process.env, NODE_ENV: 'production' } });
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  const ask = (request?: ToPlatform): Promise<FromPlatform> => {
    const replied = new Promise<FromPlatform>((resolve) => worker.once('message', resolve));
    if (request) worker.postMessage(request);
    return Promise.race([replied, failed]);
  };
  const reply = async <K extends FromPlatform['kind']>(kind: K, request?: ToPlatform) => {
    const reply = await ask(request);
    if (reply.kind !== kind) throw new Error(`the platform thread answered ${reply.kind} where ${kind} was due`);
    return reply as Extract<FromPlatform, { kind: K }>;
  };
  const { ready } = await reply('ready');
  return {
    ...ready,
    direct: async (r) => (await reply('run', { kind: 'direct', round: r })).run,
    cpuMs: async () => (await reply('cpu', { kind: 'cpu' })).ms,
    settle: async (position) => {
      await reply('settled', { kind: 'settle', position });
    },
    close: async () => {
      try {
        await reply('closed', { kind: 'close' });
      } finally {
        await worker.terminate();
      }
    },
  };
};

interface Measured {
  readonly throughput: number;
  /** Requests per second of the platform thread's CPU time. */
  readonly cpuThroughput: number;
  readonly p50: number;
  readonly p99: number;
}

const measured = (requests: number, run: Run): Measured => ({
  throughput: requests / (run.elapsedMs / 1000),
  cpuThroughput: requests / (run.cpuMs / 1000),
  p50: percentile(run.latencies, 50),
  p99: percentile(run.latencies, 99),
});

/** One warm-up round, then ROUNDS measured ones alternating which side goes first; medians of each figure. */
const compare = async (
  name: string,
  requests: number,
  subject: (round: number) => Promise<Run>,
  baseline: (round: number) => Promise<Run>,
): Promise<Line[]> => {
  const subjects: Measured[] = [];
  const baselines: Measured[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    let s: Run;
    let b: Run;
    if (r % 2 === 0) {
      s = await subject(r);
      b = await baseline(r);
    } else {
      b = await baseline(r);
      s = await subject(r);
    }
    if (r > 0) {
      subjects.push(measured(requests, s));
      baselines.push(measured(requests, b));
    }
  }
  const figure = (key: keyof Measured) => [median(subjects.map((m) => m[key])), median(baselines.map((m) => m[key]))];
  const [value, base] = figure('throughput');
  const [cpuValue, cpuBase] = figure('cpuThroughput');
  const [p50, baseP50] = figure('p50');
  const [p99, baseP99] = figure('p99');
  const line = (label: string, unit: Line['unit'], v: number, b: number, digits: number): Line => ({
    name: `${name} ${label}`,
    value: round(v, digits),
    unit,
    baseline: round(b, digits),
    ratio: round(v / b, 3),
  });
  const cpu = Number.isFinite(cpuValue / cpuBase) ? { cpu: { value: round(cpuValue, 1), baseline: round(cpuBase, 1), ratio: round(cpuValue / cpuBase, 3) } } : {};
  return [
    { ...line(`(${CONCURRENCY} clients)`, 'requests/s', value, base, 1), ...cpu },
    line('p50 latency', 'ms', p50, baseP50, 2),
    line('p99 latency', 'ms', p99, baseP99, 2),
  ];
};

const DEVICE_FIELDS =
  'serial kind status credentialKind organisation userId pinLocked initializedAt distributedAt boundAt ' +
  'reportedLostAt lossCancelledAt frozenAt restoredAt destroyedAt pinLockedAt updatedAt position';

const graphql = (platform: Platform, token: string, body: string): Buffer =>
  requestBytes(platform.apiPort, 'POST', '/graphql', { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body);

const compareQuery = (platform: Platform, name: string, barePort: number): Promise<Line[]> => {
  const query = graphql(
    platform,
    platform.tokens.reader,
    JSON.stringify({ query: `query($serial: String!) { device(serial: $serial) { ${DEVICE_FIELDS} } }`, variables: { serial: SERIAL } }),
  );
  const bare = requestBytes(barePort, 'GET', `/device/${SERIAL}`, {});
  return compare(
    name,
    QUERY_REQUESTS,
    () => load(platform.apiPort, QUERY_REQUESTS, () => query, platform.cpuMs),
    () => load(barePort, QUERY_REQUESTS, () => bare, platform.cpuMs),
  );
};

/** Each request initializes a new device, so every one of them appends. */
const compareMutation = (platform: Platform, store: string): Promise<Line[]> => {
  const mutation = (r: number) => (n: number) => {
    const id = String(n).padStart(6, '0');
    const input = {
      commandId: `bench-api-${r}-${id}`,
      serial: `API-${r}-${id}`,
      kind: 'UKEY',
      credentialKind: 'CERTIFICATE',
      credentialFingerprint: 'f'.repeat(64),
    };
    const query = 'mutation($input: InitializeDeviceInput!) { initializeDevice(input: $input) { position } }';
    return graphql(platform, platform.tokens.admin, JSON.stringify({ query, variables: { input } }));
  };
  return compare(
    `initializeDevice mutation vs CommandBus.execute on ${store}`,
    MUTATION_REQUESTS,
    (r) => load(platform.apiPort, MUTATION_REQUESTS, mutation(r), platform.cpuMs, platform.settle),
    (r) => platform.direct(r),
  );
};

const withPlatform = async (choice: StoreChoice, work: (platform: Platform) => Promise<void>): Promise<void> => {
  const platform = await startPlatform(choice);
  try {
    await work(platform);
  } finally {
    await platform.close();
  }
};

/** Runs `work` in a schema of its own, dropped afterwards; says so and skips when PostgreSQL does not answer. */
const withPostgres = async (work: (schema: string, durability: string) => Promise<void>): Promise<void> => {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(`PostgreSQL did not answer (${reason}): the PostgreSQL mutation lines are skipped; set DATABASE_URL`);
    return;
  }
  const schema = `qkmp_bench_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  try {
    const { rows } = await client.query<{ synchronous_commit: string }>('SHOW synchronous_commit');
    await work(schema, `synchronous_commit = ${rows[0].synchronous_commit}`);
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
};

const print = (lines: readonly Line[]) => lines.forEach((line) => console.log(JSON.stringify(line)));

const main = async (): Promise<void> => {
  await withPlatform({ kind: 'sqlite' }, async (platform) => {
    print(await compareQuery(platform, 'device(serial) query vs bare Express route', platform.barePort));
    print(await compareQuery(platform, 'device(serial) query vs stock bare Express route (information, not the target)', platform.stockPort));
    print(await compareMutation(platform, `a SQLite file (${SQLITE_PRAGMAS.join(', ')})`));
  });
  await withPostgres((schema, durability) =>
    withPlatform({ kind: 'postgres', url: POSTGRES_URL, schema }, async (platform) => {
      print(await compareMutation(platform, `PostgreSQL (${durability})`));
    }),
  );
};

if (isMainThread) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
