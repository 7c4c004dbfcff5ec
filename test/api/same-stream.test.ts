import { randomUUID } from 'node:crypto';
import pg from 'pg';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import { EventStore } from '../../application/ports/event-store';
import { PostgresEventStore } from '../../infrastructure/event-store/postgres';
import { SqliteEventStore } from '../../infrastructure/event-store/sqlite';
import { mutationDocument } from './support/fixtures';
import { codeOf } from './support/expectations';
import { GraphQLResponse, Platform } from './support/platform';

// Commands that reach one server at the same moment for one device, on the stores a server runs on.

const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `qkmp_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-same-stream-'));

afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

const stores: [string, () => EventStore][] = [
  ['SQLite', () => new SqliteEventStore(path.join(dir, 'events.db'))],
  ['PostgreSQL', () => new PostgresEventStore(POSTGRES_URL, { schema })],
];

const receiptOf = (response: GraphQLResponse) => Object.values(response.body.data ?? {})[0];

describe.each(stores)('commands on one device at the same moment, on %s', (_name, open) => {
  let p: Platform;
  beforeAll(async () => {
    p = await Platform.start({ store: open() });
  });
  afterAll(() => p.close());

  const send = (type: string, input: Record<string, unknown>, caller: 'USER_ADMIN' | 'CHARGER' = 'USER_ADMIN') =>
    p.gql(mutationDocument(type), { input }, caller);

  it('one command id with two users to bind: one binding is made, the other is refused as a reused id naming userId', async () => {
    const serial = await p.device('DISTRIBUTED');
    const commandId = randomUUID();
    const answers = await Promise.all(['user-a', 'user-b'].map((userId) => send('BindDevice', { commandId, serial, userId })));
    const [won, lost] = codeOf(answers[0]) === undefined ? answers : [answers[1], answers[0]];
    expect(receiptOf(won)).toMatchObject({ replayed: false });
    expect(codeOf(lost)).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(lost.body.errors?.[0].extensions?.details).toMatchObject({ type: 'BindDevice with a different userId' });
    const bound = (await p.store.readStream(`device-${serial}`)).filter((e) => e.type === 'DeviceBound');
    expect(bound.map((e) => (e.data as { userId: string }).userId)).toEqual([receiptOf(won).events[0].data.userId]);
  });

  it('one command id for a loss report and a freeze: one is made, the other is refused as a reused id', async () => {
    const serial = await p.device('ACTIVE');
    const commandId = randomUUID();
    const answers = await Promise.all([
      send('ReportDeviceLost', { commandId, serial, reason: 'left on a pylon' }),
      send('FreezeDevice', { commandId, serial, reason: 'suspicious use' }),
    ]);
    expect(answers.map(codeOf).sort()).toEqual(['IDEMPOTENCY_KEY_REUSED', undefined]);
    expect(await p.store.readStream(`device-${serial}`)).toHaveLength(4);
  });

  it('one command sent twice with the same arguments: the second answer is the first receipt, marked replayed', async () => {
    const serial = await p.device('DISTRIBUTED');
    const input = { commandId: randomUUID(), serial, userId: 'user-a' };
    const receipts = (await Promise.all([send('BindDevice', input), send('BindDevice', input)])).map(receiptOf);
    expect(receipts.map((r) => r.replayed).sort()).toEqual([false, true]);
    expect(receipts[0].position).toBe(receipts[1].position);
    expect(await p.store.readStream(`device-${serial}`)).toHaveLength(3);
  });

  it('24 bad proofs at once are all recorded, each counted on the one before, and all reach the audit', async () => {
    const { serial, chargeId } = await p.charge('STARTED');
    const failure = () =>
      send('RecordDeviceAuthenticationFailure', { commandId: randomUUID(), serial, chargerId: p.kiosk, chargeId, reason: 'BAD_PROOF' }, 'CHARGER');
    const answers = await Promise.all(Array.from({ length: 24 }, failure));
    expect(answers.map(codeOf)).toEqual(Array(24).fill(undefined));
    const counted = answers.map((a) => receiptOf(a).events[0].data.consecutiveFailures).sort((a: number, b: number) => a - b);
    expect(counted).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const at = Math.max(...answers.map((a) => receiptOf(a).position));
    const audit = await p.gql(
      'query($target: String!, $at: SafeInt) { audit(filter: { target: $target, action: "DeviceAuthenticationFailed" }, consistentWith: $at) { total } }',
      { target: `device:${serial}`, at },
      'AUDITOR',
    );
    expect(audit.body).toEqual({ data: { audit: { total: 24 } } });
  });
});
