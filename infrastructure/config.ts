import { createHash } from 'node:crypto';
import * as path from 'node:path';

// The one place that reads the environment. Everything else is handed a Config.

export type EventStoreConfig =
  | { readonly kind: 'memory' }
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string }
  | { readonly kind: 'eventstoredb'; readonly url: string };

export type ReadModelsConfig =
  | { readonly kind: 'memory' }
  | { readonly kind: 'redis'; readonly url: string; readonly namespace: string };

export interface Config {
  readonly eventStore: EventStoreConfig;
  readonly readModels: ReadModelsConfig;
  /** Where embedded data lives (the SQLite file's folder by default). */
  readonly dataDir: string;
  /** The master key file, created on first start unless masterKey is given. */
  readonly masterKeyFile: string;
  /** Base64 of 32 bytes, from QKMP_MASTER_KEY: for hosts that inject secrets through the environment. */
  readonly masterKey?: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly production: boolean;
  /** The key vault's SQLite file (':memory:' with the in-memory event store). */
  readonly vaultFile: string;
  /**
   * Where `audit verify` and the running server record the head they verified; none for a log in
   * memory (gone at exit) or on EventStoreDB (no hash chain).
   */
  readonly auditHeadFile?: string;
  /** The ETSI GS QKD 014 interface: its own HTTPS port with mutual TLS, and the platform's KME id. */
  readonly keyDelivery: { readonly listen: { readonly host: string; readonly port: number }; readonly kmeId: string };
  /** Where raw key comes from when the pool is filled. */
  readonly keySource: KeySourceConfig;
}

export type KeySourceConfig =
  | { readonly kind: 'bb84'; readonly sourceId: string }
  | {
      readonly kind: 'etsi014';
      readonly sourceId: string;
      /** The remote KME's base address, https://host:port. */
      readonly url: string;
      /** The SAE on the far side of the link: key is asked for with it as slave. */
      readonly slaveSaeId: string;
      readonly certFile: string;
      readonly keyFile: string;
      readonly caFile: string;
    };

export class ConfigError extends Error {
  constructor(readonly variable: string, rule: string) {
    super(`${variable}: ${rule}`);
    this.name = 'ConfigError';
  }
}

const STORE_FORMS =
  'must be one of sqlite:<file>, postgres://user@host:port/database, esdb://host:port?tls=false (or kurrentdb://...), memory';

export const parseEventStore = (value: string, schema: string): EventStoreConfig => {
  if (value === 'memory') return { kind: 'memory' };
  if (value.startsWith('sqlite:')) {
    const file = value.slice('sqlite:'.length);
    if (file.length === 0) throw new ConfigError('QKMP_EVENT_STORE', 'sqlite: needs a file path, for example sqlite:./data/qkmp.db');
    return { kind: 'sqlite', file: path.resolve(file) };
  }
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: 'postgres', url: value, schema };
  if (/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover|kurrent|kurrent\+discover):\/\//.test(value)) {
    // KurrentDB speaks the EventStoreDB protocol; the client takes only the esdb scheme.
    return { kind: 'eventstoredb', url: value.replace(/^kurrent(db)?/, 'esdb') };
  }
  throw new ConfigError('QKMP_EVENT_STORE', STORE_FORMS);
};

export const parseReadModels = (value: string, namespace: string): ReadModelsConfig => {
  if (value === 'memory') return { kind: 'memory' };
  if (/^rediss?:\/\//.test(value)) return { kind: 'redis', url: value, namespace };
  throw new ConfigError('QKMP_READ_MODELS', 'must be memory or redis://host:port (rediss:// for TLS)');
};

export const parseListen = (value: string, variable = 'QKMP_LISTEN'): Config['listen'] => {
  const match = /^(?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : NaN;
  if (!match || port > 65535) throw new ConfigError(variable, 'must be PORT or HOST:PORT, for example 127.0.0.1:4000');
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
};

const identifier = (value: string, variable: string): string => {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value)) {
    throw new ConfigError(variable, "must be 1 to 64 characters of letters, digits, '.', '_' or '-'");
  }
  return value;
};

const required = (env: NodeJS.ProcessEnv, variable: string, why: string): string => {
  const value = env[variable];
  if (value === undefined || value.length === 0) throw new ConfigError(variable, `must be set ${why}`);
  return value;
};

/** bb84 (the simulated link, the default) or the https:// address of a KME that speaks ETSI GS QKD 014. */
export const parseKeySource = (env: NodeJS.ProcessEnv): KeySourceConfig => {
  const value = env.QKMP_KEY_SOURCE ?? 'bb84';
  if (value === 'bb84') return { kind: 'bb84', sourceId: identifier(env.QKMP_KEY_SOURCE_ID ?? 'bb84', 'QKMP_KEY_SOURCE_ID') };
  if (!/^https:\/\/[^/]+\/?$/.test(value)) {
    throw new ConfigError('QKMP_KEY_SOURCE', 'must be bb84 or the https://host:port of an ETSI GS QKD 014 KME');
  }
  const why = 'when QKMP_KEY_SOURCE names a KME';
  return {
    kind: 'etsi014',
    sourceId: identifier(env.QKMP_KEY_SOURCE_ID ?? `kme-${new URL(value).hostname}`, 'QKMP_KEY_SOURCE_ID'),
    url: value.replace(/\/$/, ''),
    slaveSaeId: identifier(required(env, 'QKMP_KME_SLAVE_SAE_ID', why), 'QKMP_KME_SLAVE_SAE_ID'),
    certFile: path.resolve(required(env, 'QKMP_KME_CERT', why)),
    keyFile: path.resolve(required(env, 'QKMP_KME_KEY', why)),
    caFile: path.resolve(required(env, 'QKMP_KME_CA', why)),
  };
};

const DEFAULT_LOG = 'qkmp.db';

/**
 * A file in the data directory that belongs to one log: its key vault, the audit head its
 * verifications saw. Named after the log, so that a data directory shared by several stores (the
 * embedded default, then PostgreSQL, say) never lets one log's key pool shred another's key
 * material, nor one log's recorded head judge another log. The embedded default keeps plain names.
 */
const ofTheLog = (dataDir: string, eventStore: Exclude<EventStoreConfig, { kind: 'memory' }>, name: string, extension: string): string => {
  if (eventStore.kind === 'sqlite' && eventStore.file === path.join(dataDir, DEFAULT_LOG)) return path.join(dataDir, `${name}${extension}`);
  const log = createHash('sha256').update(whereTheLogIs(eventStore)).digest('hex').slice(0, 12);
  return path.join(dataDir, `${name}-${eventStore.kind}-${log}${extension}`);
};

/**
 * Where the log is, as the driver finds it: the host (or socket folder), port, database and schema,
 * not the user, the password or options that change without moving the log. A host name
 * spelled another way still names another file; the key pool then finds its vault short of what
 * the log counts and refuses to start (KeyPool.vaultMismatch).
 */
const whereTheLogIs = (eventStore: Exclude<EventStoreConfig, { kind: 'memory' }>): string => {
  if (eventStore.kind === 'sqlite') return eventStore.file;
  const url = new URL(eventStore.url);
  if (eventStore.kind === 'eventstoredb') return `${url.host}${url.pathname}`;
  const host = url.searchParams.get('host') ?? url.hostname;
  const port = url.searchParams.get('port') ?? (url.port || '5432');
  const database = decodeURIComponent(url.pathname.slice(1));
  // Left to the driver (PGDATABASE, then the user's name), the database could change under the same file names.
  if (database === '') throw new ConfigError('QKMP_EVENT_STORE', 'must name the database, for example postgres://user@host:5432/database');
  return JSON.stringify([host, port, database, eventStore.schema]);
};

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const dataDir = path.resolve(env.QKMP_DATA_DIR ?? './data');
  const schema = env.QKMP_PG_SCHEMA ?? 'qkmp';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError('QKMP_PG_SCHEMA', 'must be a lowercase SQL identifier (letters, digits, _)');
  }
  const eventStore = parseEventStore(env.QKMP_EVENT_STORE ?? `sqlite:${path.join(dataDir, DEFAULT_LOG)}`, schema);
  const readModels = parseReadModels(env.QKMP_READ_MODELS ?? 'memory', env.QKMP_VIEWS_NAMESPACE ?? 'qkmp:views:');
  return {
    eventStore,
    readModels,
    dataDir,
    masterKeyFile: path.resolve(env.QKMP_MASTER_KEY_FILE ?? path.join(dataDir, 'master.key')),
    ...(env.QKMP_MASTER_KEY !== undefined && { masterKey: env.QKMP_MASTER_KEY }),
    listen: parseListen(env.QKMP_LISTEN ?? '127.0.0.1:4000'),
    production: env.NODE_ENV === 'production',
    vaultFile: eventStore.kind === 'memory' ? ':memory:' : path.resolve(env.QKMP_VAULT_FILE ?? ofTheLog(dataDir, eventStore, 'vault', '.db')),
    ...(eventStore.kind !== 'memory' && eventStore.kind !== 'eventstoredb' && { auditHeadFile: ofTheLog(dataDir, eventStore, 'audit-head', '.json') }),
    keyDelivery: {
      listen: parseListen(env.QKMP_ETSI_LISTEN ?? '127.0.0.1:8443', 'QKMP_ETSI_LISTEN'),
      kmeId: identifier(env.QKMP_KME_ID ?? 'QKMP-KME', 'QKMP_KME_ID'),
    },
    keySource: parseKeySource(env),
  };
};

const withoutPassword = (address: string): string => {
  const url = new URL(address);
  url.password = '';
  return url.toString();
};

/** The read models' address without credentials, fit for a log line. */
export const describeReadModels = (config: ReadModelsConfig): string =>
  config.kind === 'memory' ? 'in memory (rebuilt from the log at every start)' : `Redis ${withoutPassword(config.url)} under ${config.namespace}`;

/** The store's address without credentials, fit for a log line. */
export const describeEventStore = (config: EventStoreConfig): string => {
  switch (config.kind) {
    case 'memory':
      return 'in memory (lost at exit)';
    case 'sqlite':
      return `SQLite file ${config.file}`;
    case 'postgres':
    case 'eventstoredb':
      return `${config.kind === 'postgres' ? 'PostgreSQL' : 'EventStoreDB'} ${withoutPassword(config.url)}${config.kind === 'postgres' ? ` schema ${config.schema}` : ''}`;
  }
};
