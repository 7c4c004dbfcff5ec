import fc from 'fast-check';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import {
  EventStore,
  ExpectedRevision,
  NewEvent,
  RecordedEvent,
  revisionMatches,
  StoreUnavailableError,
} from '../../application/ports/event-store';
import { acceptedRevisions, appendVia, PostgresEventStore } from '../../infrastructure/event-store/postgres';
import { describeEventStoreContract } from './event-store.contract';
import { sampleEvent } from '../support/events';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// One schema per test file, so files can run in parallel on one database.
const schema = `qkmp_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;

afterAll(async () => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

describeEventStoreContract('PostgreSQL', async () => new PostgresEventStore(url, { schema }), {
  contiguousPositions: true,
});

const event = (): NewEvent => sampleEvent();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const waitFor = async (what: string, done: () => boolean, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
};

describe('PostgreSQL event store', () => {
  const stores: EventStore[] = [];
  const open = (options: { pollIntervalMs?: number } = {}): PostgresEventStore => {
    const store = new PostgresEventStore(url, { schema, ...options });
    stores.push(store);
    return store;
  };
  afterAll(() => Promise.all(stores.map((store) => store.close())));

  it('never lets a reader skip an event whose transaction commits after a later writer started', async () => {
    const store = open();
    const before = (await store.append(`marker-${randomUUID()}`, [event()], 'no_stream')).position;
    const [slow, fast] = [`slow-${randomUUID()}`, `fast-${randomUUID()}`];
    const seen: RecordedEvent[] = [];
    const subscription = store.subscribe({
      after: before,
      onEvent: (e) => {
        if (e.streamId === slow || e.streamId === fast) seen.push(e);
      },
    });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      // The slow writer takes its position inside a transaction that stays open...
      await client.query('BEGIN');
      const slowEvent = event();
      const held = await appendVia(client, schema, slow, [slowEvent], 'no_stream');
      // ...while the fast writer appends and tries to commit.
      const fastEvent = event();
      let fastSettled = false;
      const fastAppend = store.append(fast, [fastEvent], 'no_stream').finally(() => {
        fastSettled = true;
      });
      await sleep(300);

      expect(fastSettled).toBe(false); // it waits for the slow one: positions follow commit order
      expect(seen).toEqual([]);
      expect((await store.readAll({ after: before })).filter((e) => e.streamId === slow || e.streamId === fast)).toEqual([]);

      await client.query('COMMIT');
      const fastResult = await fastAppend;
      await waitFor('both events', () => seen.length >= 2);
      await store.append(`sentinel-${randomUUID()}`, [event()], 'no_stream');
      await sleep(100);

      expect(seen.map((e) => [e.id, e.position])).toEqual([
        [slowEvent.id, held.position],
        [fastEvent.id, fastResult.position],
      ]);
      expect(fastResult.position).toBe(held.position + 1);
      const all = (await store.readAll({ after: before })).filter((e) => e.streamId === slow || e.streamId === fast);
      expect(all.map((e) => e.id)).toEqual([slowEvent.id, fastEvent.id]);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end();
      await subscription.close();
    }
  });

  it('wakes subscribers of another store through LISTEN/NOTIFY, well before its poll', async () => {
    const [writer, reader] = [open(), open({ pollIntervalMs: 60_000 })];
    const stream = `notified-${randomUUID()}`;
    const before = (await writer.append(`marker-${randomUUID()}`, [event()], 'no_stream')).position;
    const seen: RecordedEvent[] = [];
    const subscription = reader.subscribe({ after: before, onEvent: (e) => void seen.push(e) });
    try {
      await sleep(200); // let the subscription catch up and go to sleep on LISTEN
      const written = event();
      await writer.append(stream, [written], 'no_stream');
      await waitFor('the notified event', () => seen.some((e) => e.id === written.id), 3000);
    } finally {
      await subscription.close();
    }
  });

  it('creates its schema on first use', async () => {
    const fresh = `${schema}_fresh`;
    const store = new PostgresEventStore(url, { schema: fresh });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      expect(await store.readAll()).toEqual([]);
      const tables = await client.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [fresh]);
      expect(tables.rows).toEqual([{ table_name: 'events' }]);
    } finally {
      await store.close();
      await client.query(`DROP SCHEMA IF EXISTS "${fresh}" CASCADE`);
      await client.end();
    }
  });

  it('refuses a schema name that is not a plain lowercase identifier', () => {
    expect(() => new PostgresEventStore(url, { schema: 'Robert"; DROP TABLE x; --' })).toThrow(
      /schema must be a lowercase SQL identifier/,
    );
  });

  it('checks expected revisions exactly as revisionMatches does', () => {
    const expected = fc.oneof(
      fc.constantFrom<ExpectedRevision>('any', 'no_stream', 'stream_exists'),
      fc.integer({ min: 0, max: 1000 }),
    );
    fc.assert(
      fc.property(expected, fc.integer({ min: -1, max: 1000 }), (e, actual) => {
        const { min, max } = acceptedRevisions(e);
        expect(actual >= min && actual <= max).toBe(revisionMatches(e, actual));
      }),
    );
  });
});

describe('PostgreSQL event store when the database is down', () => {
  // Nothing listens on port 1.
  const down = 'postgres://postgres@127.0.0.1:1/test';
  let store: PostgresEventStore;
  beforeEach(() => {
    store = new PostgresEventStore(down, { schema, connectionTimeoutMs: 2000 });
  });
  afterEach(() => store.close());

  it.each([
    ['append', (s: EventStore) => s.append('device-A', [event()], 'no_stream')],
    ['readStream', (s: EventStore) => s.readStream('device-A')],
    ['readAll', (s: EventStore) => s.readAll()],
  ])('%s rejects with StoreUnavailableError', async (_, call) => {
    const error = await call(store).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe(
      'the PostgreSQL event store is unavailable; check that it is running and reachable, then retry',
    );
    expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('reports StoreUnavailableError to a subscriber through onError', async () => {
    const error = await new Promise<Error>((resolve) => {
      store.subscribe({ onEvent: () => undefined, onError: resolve });
    });
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });
});
