import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { ChainRow } from '../../infrastructure/event-store/chain';
import { appendVia, PostgresEventStore } from '../../infrastructure/event-store/postgres';
import {
  chainKeyOf,
  ChainStorage,
  describeChainContract,
  describeChainTamperContract,
  expectNoKey,
  expectOk,
  newEvent,
  verifyOf,
} from './chain.contract';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// Schemas of their own, so this file can run beside others on one database.
const prefix = `qkmp_chain_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
let schemas = 0;
const nextSchema = (): string => `${prefix}_${schemas++}`;

let admin: pg.Client;
beforeAll(async () => {
  admin = new pg.Client({ connectionString: url });
  await admin.connect();
});
afterAll(async () => {
  const left = await admin.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname LIKE $1', [`${prefix}%`]);
  for (const { nspname } of left.rows) await admin.query(`DROP SCHEMA "${nspname}" CASCADE`);
  await admin.end();
});

/** A new schema; tampering goes through a connection of its own, as a database administrator's would. */
const postgresStorage = async (): Promise<ChainStorage> => {
  const schema = nextSchema();
  const table = `"${schema}".events`;
  return {
    open: (chainKey) => new PostgresEventStore(url, { schema, chainKey }),
    tamper: {
      row: async (position) =>
        (
          await admin.query<ChainRow>(
            'SELECT position::int, stream_id AS "streamId", revision::int, id, type, data::text AS data, metadata::text AS metadata, chain ' +
              `FROM ${table} WHERE position = $1`,
            [position],
          )
        ).rows[0],
      setData: async (position, data) => void (await admin.query(`UPDATE ${table} SET data = $1::json WHERE position = $2`, [data, position])),
      setChain: async (position, chain) => void (await admin.query(`UPDATE ${table} SET chain = $1 WHERE position = $2`, [chain, position])),
      deleteRow: async (position) => void (await admin.query(`DELETE FROM ${table} WHERE position = $1`, [position])),
      holdsAny: async (needles) => {
        const rows = await admin.query<{ text: string; chain: Buffer | null }>(
          `SELECT concat_ws(' ', position, stream_id, revision, id, type, data::text, metadata::text) AS text, chain FROM ${table}`,
        );
        const functions = await admin.query<{ prosrc: string }>('SELECT prosrc FROM pg_proc WHERE pronamespace = $1::regnamespace', [schema]);
        const bytes = Buffer.concat([
          ...rows.rows.flatMap((row) => [Buffer.from(row.text), row.chain ?? Buffer.alloc(0)]),
          ...functions.rows.map((f) => Buffer.from(f.prosrc)),
        ]);
        return needles.some((needle) => bytes.includes(needle));
      },
    },
    destroy: async () => void (await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)),
  };
};

describeChainContract('PostgreSQL', postgresStorage);
describeChainTamperContract('PostgreSQL', postgresStorage);

/** Every query any pg client sends while `work` runs, as text with its values (bytes as hex). */
const recordQueries = async (work: () => Promise<void>): Promise<string[]> => {
  const sent: string[] = [];
  const original = pg.Client.prototype.query;
  const spy = jest.spyOn(pg.Client.prototype, 'query').mockImplementation(function (this: pg.Client, ...args: unknown[]) {
    const [config, values] = args as [string | pg.QueryConfig, unknown[] | undefined];
    const text = typeof config === 'string' ? config : config.text;
    const params = typeof config === 'string' ? values : (config.values ?? values);
    sent.push(`${text}\n${JSON.stringify(params ?? [], (_, v: unknown) => (isBytes(v) ? Buffer.from(v.data).toString('hex') : v))}`);
    return (original as (...a: unknown[]) => unknown).apply(this, args) as never;
  });
  try {
    await work();
  } finally {
    spy.mockRestore();
  }
  return sent;
};

const isBytes = (value: unknown): value is { type: 'Buffer'; data: number[] } =>
  typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer';

describe('PostgreSQL audit chain', () => {
  const stores: PostgresEventStore[] = [];
  const open = (schema: string, chainKey?: Buffer): PostgresEventStore => {
    const store = new PostgresEventStore(url, { schema, chainKey });
    stores.push(store);
    return store;
  };
  afterAll(() => Promise.all(stores.map((store) => store.close())));

  it('never sends the key to the database, in any form, only the chain values it computed', async () => {
    const schema = nextSchema();
    const key = chainKeyOf();
    const store = open(schema, key);
    const client = new pg.Client({ connectionString: url });
    await client.connect();

    const sent = await recordQueries(async () => {
      await store.append('device-A', [newEvent()], 'no_stream');
      await store.append('device-A', [newEvent(), newEvent()], 0);
      await store.append('device-B', [newEvent()], 'any');
      await client.query('BEGIN');
      await appendVia(client, schema, 'device-C', [newEvent()], 'no_stream', { chainKey: key });
      await client.query('COMMIT');
      expectOk(await verifyOf(store), 5);
    });
    await client.end();

    const stored = await admin.query<{ chain: Buffer }>(`SELECT chain FROM "${schema}".events ORDER BY position`);
    const all = sent.join('\n');
    expect(stored.rows).toHaveLength(5);
    for (const { chain } of stored.rows) expect(all).toContain(chain.toString('hex')); // the spy saw the appends
    expectNoKey(all, key);
  });

  it('appends in one round trip while its remembered head holds, and seals again under the lock when another process moved it', async () => {
    const schema = nextSchema();
    const key = chainKeyOf();
    const [store, other] = [open(schema, key), open(schema, key)];
    await store.append('device-A', [newEvent()], 'no_stream');

    const fast = await recordQueries(() => store.append('device-A', [newEvent()], 0).then(() => undefined));
    await other.append('device-B', [newEvent()], 'no_stream');
    const moved = await recordQueries(() => store.append('device-A', [newEvent()], 1).then(() => undefined));
    const unguessable = await recordQueries(() => store.append('device-A', [newEvent()], 'any').then(() => undefined));

    expect(fast).toHaveLength(1);
    expect(moved).toHaveLength(4);
    expect(moved[1]).toMatch(/^BEGIN; SELECT .*\.append_head\(/);
    expect(moved[3]).toMatch(/^COMMIT/);
    expect(unguessable).toHaveLength(3);
    expectOk(await verifyOf(store), 5);
  });

  it("seals inside the caller's transaction with appendVia, and leaves events unsealed without a key", async () => {
    const schema = nextSchema();
    const key = chainKeyOf();
    const store = open(schema, key);
    await store.append('device-A', [newEvent()], 'no_stream');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await appendVia(client, schema, 'device-A', [newEvent(), newEvent()], 0, { chainKey: key });
      await client.query('COMMIT');
      expectOk(await verifyOf(store), 3);

      await client.query('BEGIN');
      await appendVia(client, schema, 'device-A', [newEvent()], 2);
      await client.query('COMMIT');
      expect(await verifyOf(store)).toMatchObject({ ok: false, checked: 3, firstBadPosition: 4, problem: 'unsealed' });
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
    }
  });

  it('adds the chain column to a table made before the chain existed, and reports its events as unsealed', async () => {
    const schema = nextSchema();
    await admin.query(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".events (
      position bigint PRIMARY KEY, stream_id text NOT NULL, revision bigint NOT NULL, id text NOT NULL UNIQUE,
      type text NOT NULL, data json NOT NULL, metadata json NOT NULL, UNIQUE (stream_id, revision))`);
    await admin.query(`INSERT INTO "${schema}".events VALUES (1, 'device-A', 0, $1, 'DeviceInitialized', '{}', '{}')`, [randomUUID()]);
    const store = open(schema, chainKeyOf());

    await store.append('device-A', [newEvent()], 0);

    expect(await verifyOf(store)).toMatchObject({ ok: false, checked: 0, firstBadPosition: 1, problem: 'unsealed' });
    const sealed = await admin.query(`SELECT position::int FROM "${schema}".events WHERE chain IS NOT NULL`);
    expect(sealed.rows).toEqual([{ position: 2 }]);
  });
});
