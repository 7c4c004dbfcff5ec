import * as path from 'node:path';

// The one place that reads the environment. Everything else is handed a Config.

export type EventStoreConfig =
  | { readonly kind: 'memory' }
  | { readonly kind: 'sqlite'; readonly file: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly schema: string }
  | { readonly kind: 'eventstoredb'; readonly url: string };

export interface Config {
  readonly eventStore: EventStoreConfig;
  /** Where embedded data lives (the SQLite file's folder by default). */
  readonly dataDir: string;
}

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

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => {
  const dataDir = path.resolve(env.QKMP_DATA_DIR ?? './data');
  const schema = env.QKMP_PG_SCHEMA ?? 'qkmp';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError('QKMP_PG_SCHEMA', 'must be a lowercase SQL identifier (letters, digits, _)');
  }
  const eventStore = parseEventStore(env.QKMP_EVENT_STORE ?? `sqlite:${path.join(dataDir, 'qkmp.db')}`, schema);
  return { eventStore, dataDir };
};

/** The store's address without credentials, fit for a log line. */
export const describeEventStore = (config: EventStoreConfig): string => {
  switch (config.kind) {
    case 'memory':
      return 'in memory (lost at exit)';
    case 'sqlite':
      return `SQLite file ${config.file}`;
    case 'postgres':
    case 'eventstoredb': {
      const url = new URL(config.url);
      url.password = '';
      return `${config.kind === 'postgres' ? 'PostgreSQL' : 'EventStoreDB'} ${url.toString()}${config.kind === 'postgres' ? ` schema ${config.schema}` : ''}`;
    }
  }
};
