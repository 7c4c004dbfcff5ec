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

  it('never prints a password when describing the store', () => {
    const config = loadConfig({ QKMP_EVENT_STORE: 'postgres://qkmp:s3cret@db.example:5432/qkmp' });
    const text = describeEventStore(config.eventStore);
    expect(text).toContain('db.example:5432');
    expect(text).not.toContain('s3cret');
  });
});
