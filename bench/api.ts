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
import { stackFloorServer } from './stack-floor';

// The API's cost over the work it wraps, one JSON line per figure, measured in the same run:
// - a device(serial) query at 32 concurrent clients against a bare Express route that reads the
//   same view from the same read models (no auth, no GraphQL), served with the same request
//   classes as the API (api/express-messages.ts); then, for information only, against the same
//   route served as Express ships (http.createServer(app)), which shows what those classes buy;
// - an InitializeDevice mutation at 32 concurrent clients against CommandBus.execute called
//   directly on the same store: the embedded default (a SQLite file), then PostgreSQL, which
//   production runs, when DATABASE_URL (or the local default) answers. Each name states the store
//   and its durability setting;
// - for information, the same query and the SQLite mutation on the bare stack (bench/stack-floor.ts:
//   Node's HTTP, Apollo Server and graphql with nothing of the platform's) against the same
//   baselines: the highest ratio any API on that stack can reach on this machine.
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
  /** The bare stack: Node's HTTP, Apollo Server and graphql, resolving with the view and the bus. */
  readonly floorPort: number;
  readonly tokens: { readonly reader: string; readonly admin: string };
}

type ToPlatform =
  | { readonly kind: 'direct' }
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
  const floorServer = await stackFloorServer(readModels, bus);
  const floorPort = await listening(floorServer);

  const settle = async (position: number): Promise<void> => {
    if (!(await readModels.waitFor(position, 60_000))) throw new Error(`the views did not reach log position ${position}`);
  };
  // Numbered across comparisons: a command id used before would be answered as a replay, without an append.
  let directRuns = 0;
  const direct = () => {
    const r = directRuns++;
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
        void direct().then((run) => reply({ kind: 'run', run }));
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
          await new Promise((resolve) => floorServer.close(resolve));
          await projector.stop();
          await access.close();
          await store.close();
          dispose();
          reply({ kind: 'closed' });
        })();
    }
  });
  reply({ kind: 'ready', ready: { apiPort, barePort, stockPort, floorPort, tokens } });
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
  direct(): Promise<Run>;
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
    direct: async () => (await reply('run', { kind: 'direct' })).run,
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

/** A side measured against a baseline: the name its lines carry and one round of its load. */
interface Subject {
  readonly name: string;
  run(round: number): Promise<Run>;
}

/**
 * One warm-up round, then ROUNDS measured ones, each running every subject and the baseline, with
 * the baseline first and the subjects in reverse order in every other round; medians of each figure. Subjects compared in the same
 * rounds share the baseline's runs, so their ratios can be set side by side.
 */
const compare = async (requests: number, subjects: readonly Subject[], baseline: (round: number) => Promise<Run>): Promise<Line[]> => {
  const runs: Measured[][] = subjects.map(() => []);
  const baselines: Measured[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const base = r % 2 === 1 ? await baseline(r) : undefined;
    // Subjects take turns going first too, so none always meets the log the other just grew.
    const measuredRuns: Run[] = [];
    const order = subjects.map((_, i) => i);
    for (const i of r % 2 === 1 ? order.reverse() : order) measuredRuns[i] = await subjects[i].run(r);
    const b = base ?? (await baseline(r));
    if (r > 0) {
      measuredRuns.forEach((run, i) => runs[i].push(measured(requests, run)));
      baselines.push(measured(requests, b));
    }
  }
  const baseFigure = (key: keyof Measured) => median(baselines.map((m) => m[key]));
  return subjects.flatMap((subject, i) => {
    const figure = (key: keyof Measured) => [median(runs[i].map((m) => m[key])), baseFigure(key)];
    const [value, base] = figure('throughput');
    const [cpuValue, cpuBase] = figure('cpuThroughput');
    const [p50, baseP50] = figure('p50');
    const [p99, baseP99] = figure('p99');
    const line = (label: string, unit: Line['unit'], v: number, b: number, digits: number): Line => ({
      name: `${subject.name} ${label}`,
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
  });
};

const DEVICE_FIELDS =
  'serial kind status credentialKind organisation userId pinLocked initializedAt distributedAt boundAt ' +
  'reportedLostAt lossCancelledAt frozenAt restoredAt destroyedAt pinLockedAt pinUnblockedAt updatedAt position';

/** Where a GraphQL operation goes: the API with a token, or the bare stack, which asks for none. */
interface Endpoint {
  readonly port: number;
  readonly token?: string;
  /** Prefix of the command ids and serials its mutations create. */
  readonly name: string;
}

const graphql = ({ port, token }: Endpoint, body: string): Buffer =>
  requestBytes(port, 'POST', '/graphql', { 'Content-Type': 'application/json', ...(token && { Authorization: `Bearer ${token}` }) }, body);

/** A GraphQL endpoint to measure, under the name its lines carry. */
type Measuring = readonly [name: string, endpoint: Endpoint];

const compareQuery = (platform: Platform, subjects: readonly Measuring[], barePort: number): Promise<Line[]> => {
  const body = JSON.stringify({ query: `query($serial: String!) { device(serial: $serial) { ${DEVICE_FIELDS} } }`, variables: { serial: SERIAL } });
  const bare = requestBytes(barePort, 'GET', `/device/${SERIAL}`, {});
  return compare(
    QUERY_REQUESTS,
    subjects.map(([name, endpoint]) => {
      const query = graphql(endpoint, body);
      return { name, run: () => load(endpoint.port, QUERY_REQUESTS, () => query, platform.cpuMs) };
    }),
    () => load(barePort, QUERY_REQUESTS, () => bare, platform.cpuMs),
  );
};

/** Each request initializes a new device, so every one of them appends. */
const compareMutation = (platform: Platform, subjects: readonly Measuring[]): Promise<Line[]> => {
  const mutation = (subject: Endpoint, r: number) => (n: number) => {
    const id = String(n).padStart(6, '0');
    const input = {
      commandId: `bench-${subject.name}-${r}-${id}`,
      serial: `${subject.name.toUpperCase()}-${r}-${id}`,
      kind: 'UKEY',
      credentialKind: 'CERTIFICATE',
      credentialFingerprint: 'f'.repeat(64),
    };
    const query = 'mutation($input: InitializeDeviceInput!) { initializeDevice(input: $input) { position } }';
    return graphql(subject, JSON.stringify({ query, variables: { input } }));
  };
  return compare(
    MUTATION_REQUESTS,
    subjects.map(([name, endpoint]) => ({
      name,
      run: (r) => load(endpoint.port, MUTATION_REQUESTS, mutation(endpoint, r), platform.cpuMs, platform.settle),
    })),
    () => platform.direct(),
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

const BARE_STACK = 'bare stack (Node HTTP, Apollo Server, graphql; nothing of the platform)';
const CEILING = '(information: the highest ratio an API on this stack can reach)';
const adminOf = (platform: Platform): Endpoint => ({ port: platform.apiPort, token: platform.tokens.admin, name: 'api' });

const print = (lines: readonly Line[]) => lines.forEach((line) => console.log(JSON.stringify(line)));

const main = async (): Promise<void> => {
  await withPlatform({ kind: 'sqlite' }, async (platform) => {
    const reader: Endpoint = { port: platform.apiPort, token: platform.tokens.reader, name: 'api' };
    const floor: Endpoint = { port: platform.floorPort, name: 'floor' };
    const query = 'device(serial) query vs bare Express route';
    print(await compareQuery(platform, [[query, reader], [`${BARE_STACK} ${query} ${CEILING}`, floor]], platform.barePort));
    print(await compareQuery(platform, [['device(serial) query vs stock bare Express route (information, not the target)', reader]], platform.stockPort));
    const mutation = `initializeDevice mutation vs CommandBus.execute on a SQLite file (${SQLITE_PRAGMAS.join(', ')})`;
    print(await compareMutation(platform, [[mutation, adminOf(platform)], [`${BARE_STACK} ${mutation} ${CEILING}`, floor]]));
  });
  await withPostgres((schema, durability) =>
    withPlatform({ kind: 'postgres', url: POSTGRES_URL, schema }, async (platform) => {
      print(await compareMutation(platform, [[`initializeDevice mutation vs CommandBus.execute on PostgreSQL (${durability})`, adminOf(platform)]]));
    }),
  );
};

if (isMainThread) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
