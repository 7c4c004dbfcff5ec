import * as path from 'node:path';
import { ConfigError, describeEventStore, loadConfig } from '../../infrastructure/config';

describe('configuration from the environment', () => {
  it('defaults to an SQLite file under ./data', () => {
    const config = loadConfig({});
    expect(config.eventStore).toEqual({ kind: 'sqlite', file: path.resolve('data/qkmp.db') });
    expect(config.dataDir).toBe(path.resolve('data'));
  });

  it('puts the default SQLite file in QKMP_DATA_DIR', () => {
    expect(loadConfig({ QKMP_DATA_DIR: '/var/lib/qkmp' }).eventStore).toEqual({
      kind: 'sqlite',
      file: '/var/lib/qkmp/qkmp.db',
    });
  });

  it.each([
    ['sqlite:./x/events.db', { kind: 'sqlite', file: path.resolve('x/events.db') }],
    ['postgres://postgres@127.0.0.1:5432/test', { kind: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test', schema: 'qkmp' }],
    ['postgresql://u@h/db', { kind: 'postgres', url: 'postgresql://u@h/db', schema: 'qkmp' }],
    ['esdb://127.0.0.1:2113?tls=false', { kind: 'eventstoredb', url: 'esdb://127.0.0.1:2113?tls=false' }],
    ['kurrentdb://127.0.0.1:2113?tls=false', { kind: 'eventstoredb', url: 'esdb://127.0.0.1:2113?tls=false' }],
    ['memory', { kind: 'memory' }],
  ])('reads QKMP_EVENT_STORE=%s', (value, expected) => {
    expect(loadConfig({ QKMP_EVENT_STORE: value }).eventStore).toEqual(expected);
  });

  it('names the variable and the accepted forms for a bad store address', () => {
    expect(() => loadConfig({ QKMP_EVENT_STORE: 'mysql://x' })).toThrow(ConfigError);
    expect(() => loadConfig({ QKMP_EVENT_STORE: 'mysql://x' })).toThrow(/^QKMP_EVENT_STORE: must be one of sqlite:<file>/);
    expect(() => loadConfig({ QKMP_EVENT_STORE: 'sqlite:' })).toThrow(/QKMP_EVENT_STORE: sqlite: needs a file path/);
  });

  it('refuses a schema name that is not a plain SQL identifier', () => {
    expect(() => loadConfig({ QKMP_PG_SCHEMA: 'x; drop table' })).toThrow(/QKMP_PG_SCHEMA: must be a lowercase SQL identifier/);
  });

  it('keeps read models in memory unless QKMP_READ_MODELS names a Redis', () => {
    expect(loadConfig({}).readModels).toEqual({ kind: 'memory' });
    expect(loadConfig({ QKMP_READ_MODELS: 'redis://127.0.0.1:6379' }).readModels).toEqual({
      kind: 'redis',
      url: 'redis://127.0.0.1:6379',
      namespace: 'qkmp:views:',
    });
    expect(() => loadConfig({ QKMP_READ_MODELS: 'mongo://x' })).toThrow(/^QKMP_READ_MODELS: must be memory or redis:\/\//);
  });

  it.each([
    ['4000', { host: '127.0.0.1', port: 4000 }],
    ['0.0.0.0:8080', { host: '0.0.0.0', port: 8080 }],
    ['[::1]:4000', { host: '::1', port: 4000 }],
  ])('reads QKMP_LISTEN=%s', (value, expected) => {
    expect(loadConfig({ QKMP_LISTEN: value }).listen).toEqual(expected);
  });

  it('refuses a listen address that is not PORT or HOST:PORT', () => {
    expect(() => loadConfig({ QKMP_LISTEN: 'localhost:99999' })).toThrow(/QKMP_LISTEN: must be PORT or HOST:PORT/);
  });

  it('keeps the master key beside the data unless told otherwise', () => {
    expect(loadConfig({ QKMP_DATA_DIR: '/srv/qkmp' }).masterKeyFile).toBe('/srv/qkmp/master.key');
    expect(loadConfig({ QKMP_MASTER_KEY_FILE: '/etc/qkmp/key' }).masterKeyFile).toBe('/etc/qkmp/key');
  });

  it('names the key vault and the audit head after their log, so stores sharing a data directory never meet', () => {
    const dataDir = '/srv/qkmp';
    const embedded = loadConfig({ QKMP_DATA_DIR: dataDir });
    expect([embedded.vaultFile, embedded.auditHeadFile]).toEqual(['/srv/qkmp/vault.db', '/srv/qkmp/audit-head.json']);
    const others = [
      loadConfig({ QKMP_DATA_DIR: dataDir, QKMP_EVENT_STORE: 'postgres://postgres@127.0.0.1:5432/test' }),
      loadConfig({ QKMP_DATA_DIR: dataDir, QKMP_EVENT_STORE: 'postgres://postgres@127.0.0.1:5432/test', QKMP_PG_SCHEMA: 'other' }),
      loadConfig({ QKMP_DATA_DIR: dataDir, QKMP_EVENT_STORE: 'sqlite:/srv/qkmp/other.db' }),
    ];
    const files = [embedded, ...others].flatMap((config) => [config.vaultFile, config.auditHeadFile]);
    expect(new Set(files).size).toBe(files.length);
    for (const file of files) expect(path.dirname(file!)).toBe(dataDir);
    expect(others[0].vaultFile).toMatch(/\/vault-postgres-[0-9a-f]{12}\.db$/);
    // Two databases the driver would reach apart never share the files.
    const apart = ['postgres:///qkmp?host=/run/a', 'postgres:///qkmp?host=/run/b', 'postgres://db.example/a', 'postgres://db.example:5433/a'].map(
      (address) => loadConfig({ QKMP_DATA_DIR: dataDir, QKMP_EVENT_STORE: address }).vaultFile,
    );
    expect(new Set(apart).size).toBe(apart.length);
    // A database the driver would take from the environment or the user's name names nothing that stays put.
    for (const address of ['postgres://db.example:5432', 'postgres://alice@db.example:5432', 'postgres://db.example?user=carol']) {
      expect(() => loadConfig({ QKMP_DATA_DIR: dataDir, QKMP_EVENT_STORE: address })).toThrow(
        /^QKMP_EVENT_STORE: must name the database, for example postgres:\/\/user@host:5432\/database$/,
      );
    }
    // The same log under the same address finds the same files at the next start, whoever logs in and however.
    for (const address of ['postgres://postgres@127.0.0.1:5432/test', 'postgresql://qkmp:s3cret@127.0.0.1/test?sslmode=disable']) {
      const again = loadConfig({ QKMP_DATA_DIR: dataDir, QKMP_EVENT_STORE: address });
      expect([again.vaultFile, again.auditHeadFile]).toEqual([others[0].vaultFile, others[0].auditHeadFile]);
    }
    expect(loadConfig({ QKMP_DATA_DIR: dataDir, QKMP_EVENT_STORE: 'postgres://postgres@127.0.0.1:5432/test', QKMP_VAULT_FILE: '/k/v.db' }).vaultFile).toBe('/k/v.db');
  });

  it('records no audit head for a log that lives in memory, gone at exit, nor for EventStoreDB, which keeps no chain', () => {
    const config = loadConfig({ QKMP_EVENT_STORE: 'memory' });
    expect(config.auditHeadFile).toBeUndefined();
    expect(config.vaultFile).toBe(':memory:');
    expect(loadConfig({ QKMP_EVENT_STORE: 'esdb://127.0.0.1:2113?tls=false' }).auditHeadFile).toBeUndefined();
  });

  it('never prints a password when describing the store', () => {
    const config = loadConfig({ QKMP_EVENT_STORE: 'postgres://qkmp:s3cret@db.example:5432/qkmp' });
    const text = describeEventStore(config.eventStore);
    expect(text).toContain('db.example:5432');
    expect(text).not.toContain('s3cret');
  });
});
