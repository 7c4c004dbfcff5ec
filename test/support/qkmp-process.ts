import Database from 'better-sqlite3';
import { ChildProcessWithoutNullStreams, spawn, spawnSync, SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Answer, call } from '../etsi/support/tls';

// The built `qkmp` command line and server as an operator runs them, for end-to-end tests: the
// tests that use this run after `npx tsc -p tsconfig.build.json` (which `npm test` does first).

export const ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(ROOT, 'dist', 'bin', 'qkmp.js');

/**
 * This environment without the platform's settings: a shell that runs a server with exported
 * QKMP_* variables must not point the tests at that server's log and views.
 */
export const withoutQkmpSettings = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('QKMP_')));

/** Both servers on ports the system picks, so test files running in parallel never meet. */
export const qkmpEnv = (dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...withoutQkmpSettings(),
  QKMP_DATA_DIR: dataDir,
  QKMP_LISTEN: '127.0.0.1:0',
  QKMP_ETSI_LISTEN: '127.0.0.1:0',
  NODE_ENV: 'test',
  ...extra,
});

export const runCli = (env: NodeJS.ProcessEnv, ...args: string[]): SpawnSyncReturns<string> =>
  spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });

/** The token `admin create` prints on its last line. */
export const tokenFrom = (created: SpawnSyncReturns<string>): string => {
  if (created.status !== 0) throw new Error(`admin create failed: ${created.stderr}`);
  return created.stdout.trim().split('\n').at(-1)!;
};

export interface RunningServer {
  readonly graphqlUrl: string;
  readonly etsiUrl: string;
  readonly process: ChildProcessWithoutNullStreams;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves once the output matches `pattern` (a log line may follow the answer it is about). */
  waitFor(pattern: RegExp): Promise<void>;
  /** Sends `signal` and resolves once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `qkmp serve` and resolves once both servers listen. */
export const startServer = async (env: NodeJS.ProcessEnv): Promise<RunningServer> => {
  const child = spawn(process.execPath, [CLI, 'serve'], { env });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  try {
    const [graphqlUrl, etsiUrl] = await new Promise<[string, string]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start: ${output}`)), 30_000);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited with ${code}: ${output}`));
      });
      child.stdout.on('data', () => {
        const graphql = /listening at (http:\/\/\S+)/.exec(output);
        const etsi = /key delivery \(ETSI GS QKD 014, mutual TLS\): (https:\/\/[^/\s]+)/.exec(output);
        if (graphql && etsi && output.includes('Stop with Ctrl-C')) {
          clearTimeout(timer);
          resolve([graphql[1], etsi[1]]);
        }
      });
    });
    const waitFor = (pattern: RegExp): Promise<void> =>
      new Promise((resolve, reject) => {
        const streams = [child.stdout, child.stderr];
        const check = (): boolean => {
          if (!pattern.test(output)) return false;
          for (const stream of streams) stream.off('data', check);
          clearTimeout(timer);
          resolve();
          return true;
        };
        const timer = setTimeout(() => {
          for (const stream of streams) stream.off('data', check);
          reject(new Error(`the server never wrote ${pattern}: ${output}`));
        }, 10_000);
        if (!check()) for (const stream of streams) stream.on('data', check);
      });
    return { graphqlUrl, etsiUrl, process: child, output: () => output, waitFor, stop };
  } catch (error) {
    await stop('SIGKILL');
    throw error;
  }
};

export interface SaeFiles {
  readonly id: string;
  readonly certificate: string;
  readonly privateKey: string;
  readonly ca: string;
}

/** The files `qkmp sae register --id <id> --out <dir>` writes. */
export const saeFiles = (id: string, dir: string): SaeFiles => ({
  id,
  certificate: path.join(dir, `${id}.crt`),
  privateKey: path.join(dir, `${id}.key`),
  ca: path.join(dir, 'ca.crt'),
});

/** One ETSI GS QKD 014 call as `sae` (no client certificate when undefined), trusting the platform's CA. */
export const etsi = (
  etsiUrl: string,
  sae: SaeFiles | undefined,
  ca: string,
  pathAndQuery: string,
  body?: unknown,
): Promise<Answer> =>
  call(`${etsiUrl}/api/v1/keys/${pathAndQuery}`, {
    ca: fs.readFileSync(ca, 'utf8'),
    ...(sae && { client: { certificate: fs.readFileSync(sae.certificate, 'utf8'), privateKey: fs.readFileSync(sae.privateKey, 'utf8') } }),
    ...(body !== undefined && { body }),
  });

export interface GraphqlAnswer {
  readonly data?: any;
  readonly errors?: readonly { message: string; extensions?: { code?: string } }[];
}

export const graphql = async (url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<GraphqlAnswer> => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphqlAnswer;
};

/** The log's last position, read from the SQLite file the server writes: pass it as consistentWith. */
export const headPosition = (dbFile: string): number => {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare<[], { head: number | null }>('SELECT max(position) AS head FROM events').get()?.head ?? 0;
  } finally {
    db.close();
  }
};
