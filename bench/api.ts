import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import express from 'express';
import * as E from 'fp-ts/Either';
import { ApiServer, createApiServer } from '../api/server';
import { AccessControl, createPrincipal } from '../application/access';
import { CommandBus } from '../application/command-bus';
import { ReadModels } from '../application/ports/read-models';
import { commandRoutes } from '../application/routes';
import { SqliteEventStore } from '../infrastructure/event-store/sqlite';
import { MemoryViewStore } from '../infrastructure/read-models/memory-view-store';
import { Projector } from '../read-models/projector';
import { createReadModels } from '../read-models/read-models';
import { median } from './measure';

// The API's cost over the work it wraps, one JSON line per figure, measured in the same run:
// - a device(serial) query at 32 concurrent clients against a bare Express route that reads the
//   same view from the same read models (no auth, no GraphQL);
// - an InitializeDevice mutation at 32 concurrent clients against CommandBus.execute called
//   directly, on the embedded default store (SQLite, synchronous=FULL).
// The HTTP load runs in a worker thread, so the clients do not share the server's event loop.

const CONCURRENCY = 32;
const ROUNDS = 5;
const QUERY_REQUESTS = 4000;
const MUTATION_REQUESTS = 1000;

interface Load {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  /** `%N%` is replaced by the request's number, so each mutation addresses a new device. */
  readonly body?: string;
  readonly requests: number;
}

/** Elapsed time and each request's latency, in ms. */
interface Run {
  readonly elapsedMs: number;
  readonly latencies: readonly number[];
}

interface Line {
  readonly name: string;
  readonly value: number;
  readonly unit: 'requests/s' | 'ms';
  readonly baseline: number;
  readonly ratio: number;
}

const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** Runs `requests` calls of `call` from CONCURRENCY concurrent loops. */
const drive = async (requests: number, call: (n: number) => Promise<void>): Promise<Run> => {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let n = next++; n < requests; n = next++) {
        const t = performance.now();
        await call(n);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { elapsedMs: performance.now() - started, latencies };
};

// ---- load generator (worker thread) ----

const runLoad = async (load: Load): Promise<Run> => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const url = new URL(load.url);
  const send = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const body = load.body?.replaceAll('%N%', String(n).padStart(6, '0'));
      const request = http.request(
        { agent, host: url.hostname, port: url.port, path: url.pathname, method: load.method, headers: load.headers },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            // A failed request would measure an error path, not the API.
            const failed = response.statusCode !== 200 || text.includes('"errors"');
            if (failed) reject(new Error(`HTTP ${response.statusCode}: ${text}`));
            else resolve();
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  try {
    return await drive(load.requests, send);
  } finally {
    agent.destroy();
  }
};

// A failed load rejects here, which ends the worker with an 'error' event for the main thread.
if (!isMainThread) void runLoad(workerData as Load).then((run) => parentPort?.postMessage(run));

const inWorker = (load: Load): Promise<Run> =>
  new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: load });
    worker.once('message', resolve);
    worker.once('error', reject);
  });

// ---- the platform under test (main thread) ----

interface Bench {
  readonly api: ApiServer;
  readonly apiUrl: string;
  readonly bareUrl: string;
  readonly bus: CommandBus;
  readonly readModels: ReadModels;
  readonly tokens: { readonly reader: string; readonly admin: string };
  close(): Promise<void>;
}

const start = async (dir: string): Promise<Bench> => {
  const store = new SqliteEventStore(path.join(dir, 'events.db'));
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

  const auditVerify = async () => ({ ok: true, checked: 0, firstBadPosition: null, reason: null });
  const api = await createApiServer(
    { bus, readModels, access, store, changes: projector, auditVerify },
    { limits: { rateLimit: { windowMs: 60_000, limit: 10_000_000 } } },
  );
  const apiUrl = await api.listen(0, '127.0.0.1');

  const bare = express();
  bare.get('/device/:serial', async (req, res) => {
    res.json(await readModels.device(req.params.serial));
  });
  const bareServer = http.createServer(bare);
  await new Promise<void>((resolve) => bareServer.listen(0, '127.0.0.1', resolve));
  const { port } = bareServer.address() as { port: number };

  return {
    api,
    apiUrl,
    bareUrl: `http://127.0.0.1:${port}`,
    bus,
    readModels,
    tokens,
    close: async () => {
      await api.close();
      await new Promise((resolve) => bareServer.close(resolve));
      await projector.stop();
      await access.close();
      await store.close();
    },
  };
};

const initialize = (serial: string) => ({
  type: 'InitializeDevice',
  data: { serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: 'f'.repeat(64) },
});

const DEVICE_FIELDS =
  'serial kind status credentialKind organisation userId pinLocked initializedAt distributedAt boundAt ' +
  'reportedLostAt lossCancelledAt frozenAt restoredAt destroyedAt pinLockedAt updatedAt position';

interface Measured {
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
}

const measured = (requests: number, run: Run): Measured => ({
  throughput: requests / (run.elapsedMs / 1000),
  p50: percentile(run.latencies, 50),
  p99: percentile(run.latencies, 99),
});

/** One warm-up round, then ROUNDS measured ones alternating subject and baseline; medians of each figure. */
const compare = async (
  name: string,
  requests: number,
  subject: (round: number) => Promise<Run>,
  baseline: (round: number) => Promise<Run>,
): Promise<Line[]> => {
  const subjects: Measured[] = [];
  const baselines: Measured[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const s = measured(requests, await subject(r));
    const b = measured(requests, await baseline(r));
    if (r > 0) {
      subjects.push(s);
      baselines.push(b);
    }
  }
  const figure = (key: keyof Measured) => [median(subjects.map((m) => m[key])), median(baselines.map((m) => m[key]))];
  const [value, base] = figure('throughput');
  const [p50, baseP50] = figure('p50');
  const [p99, baseP99] = figure('p99');
  const line = (label: string, unit: Line['unit'], v: number, b: number, digits: number): Line => ({
    name: `${name} ${label}`,
    value: round(v, digits),
    unit,
    baseline: round(b, digits),
    ratio: round(v / b, 3),
  });
  return [
    line(`(${CONCURRENCY} clients)`, 'requests/s', value, base, 1),
    line('p50 latency', 'ms', p50, baseP50, 2),
    line('p99 latency', 'ms', p99, baseP99, 2),
  ];
};

const main = async (): Promise<void> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-bench-api-'));
  const bench = await start(dir);
  try {
    const serial = 'BENCH-000001';
    const { position } = await bench.bus
      .execute({ commandId: randomUUID(), actor: { id: 'bench', role: 'SYSTEM' } }, initialize(serial))
      .then((result) => (E.isRight(result) ? result.right : Promise.reject(new Error(result.left.message))));

    const graphql = (token: string) => ({
      url: bench.apiUrl,
      method: 'POST' as const,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    });
    await bench.readModels.waitFor(position, 5000);
    const query = JSON.stringify({
      query: `query($serial: String!) { device(serial: $serial) { ${DEVICE_FIELDS} } }`,
      variables: { serial },
    });
    const queryLines = await compare(
      'device(serial) query vs bare Express route',
      QUERY_REQUESTS,
      () => inWorker({ ...graphql(bench.tokens.reader), body: query, requests: QUERY_REQUESTS }),
      () => inWorker({ url: `${bench.bareUrl}/device/${serial}`, method: 'GET', headers: {}, requests: QUERY_REQUESTS }),
    );

    const mutation = (r: number) =>
      JSON.stringify({
        query: 'mutation($input: InitializeDeviceInput!) { initializeDevice(input: $input) { position } }',
        variables: {
          input: {
            commandId: `bench-api-${r}-%N%`,
            serial: `API-${r}-%N%`,
            kind: 'UKEY',
            credentialKind: 'CERTIFICATE',
            credentialFingerprint: 'f'.repeat(64),
          },
        },
      });
    const direct = (r: number) =>
      drive(MUTATION_REQUESTS, async (n) => {
        const id = String(n).padStart(6, '0');
        const result = await bench.bus.execute(
          { commandId: `bench-direct-${r}-${id}`, actor: { id: 'bench', role: 'SECURITY_ADMIN' } },
          initialize(`DIRECT-${r}-${id}`),
        );
        if (E.isLeft(result)) throw new Error(result.left.message);
      });
    const mutationLines = await compare(
      'initializeDevice mutation vs CommandBus.execute',
      MUTATION_REQUESTS,
      (r) => inWorker({ ...graphql(bench.tokens.admin), body: mutation(r), requests: MUTATION_REQUESTS }),
      direct,
    );

    for (const line of [...queryLines, ...mutationLines]) console.log(JSON.stringify(line));
  } finally {
    await bench.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

if (isMainThread) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
