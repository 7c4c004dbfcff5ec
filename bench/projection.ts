import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { createClient } from 'redis';
import { EventStore, NewEvent } from '../application/ports/event-store';
import { ViewStore } from '../application/ports/view-store';
import { chargeAggregate, deliveredRangeStatus } from '../domain/charge';
import { chargerAggregate, ChargerState } from '../domain/charger';
import { deviceAggregate, DeviceState } from '../domain/device';
import { keyPoolAggregate } from '../domain/keypool';
import { Aggregate, Message, streamOf } from '../domain/shared/aggregate';
import { SqliteEventStore } from '../infrastructure/event-store/sqlite';
import { MemoryViewStore } from '../infrastructure/read-models/memory-view-store';
import { RedisViewStore } from '../infrastructure/read-models/redis-view-store';
import { allProjections } from '../read-models/projections';
import { catchUp } from '../read-models/replay';
import { median, Result } from './measure';

// Replay rate of every projection, into memory and into Redis, against two raw baselines measured
// in the same run: reading the same events from the same SQLite store (readAll in pages of the
// replay's batch size), and a pipelined write of as many keys to the same Redis. One JSON line each.

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const BATCH_SIZE = 1_000;
const ROUNDS = 5;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const HASH = (c: string): string => c.repeat(64);
const GOLDEN = { bootModule: HASH('1'), operatingSystem: HASH('2'), application: HASH('3') };

type Actor = { readonly id: string; readonly role: string };

/**
 * A realistic log built by the real aggregates' decide and evolve (kept in memory, so building it
 * costs no reloads): chargers, key ingestion, devices through their lifecycle, charges, range
 * freezes and consumption, failed PINs and refused charges, spread over about a week.
 */
const buildLog = async (store: EventStore, target: number): Promise<number> => {
  const states = new Map<string, unknown>();
  const revisions = new Map<string, number>();
  let clock = Date.parse('2026-03-02T06:00:00.000Z');
  let count = 0;
  const stateOf = <S>(aggregate: Aggregate<S, any, any, any>, id: string): S =>
    (states.get(streamOf(aggregate, id)) as S | undefined) ?? aggregate.initialState;
  const exec = async <S, D>(
    aggregate: Aggregate<S, any, any, D>,
    actor: Actor,
    command: Message,
    decision?: D,
  ): Promise<readonly Message[]> => {
    const id = aggregate.targetOf(command);
    const streamId = streamOf(aggregate, id);
    const state = stateOf(aggregate, id);
    const decided = aggregate.decide(command, decision ?? (state as unknown as D));
    if (E.isLeft(decided)) throw new Error(`${command.type}: ${decided.left.message}`);
    clock += 20_000;
    const commandId = `cmd-${randomUUID()}`;
    const events: NewEvent[] = decided.right.map((event) => ({
      id: randomUUID(),
      type: event.type,
      data: event.data,
      metadata: {
        actorId: actor.id,
        actorRole: actor.role,
        commandId,
        commandType: command.type,
        correlationId: commandId,
        causationId: commandId,
        occurredAt: new Date(clock).toISOString(),
      },
    }));
    const revision = revisions.get(streamId) ?? -1;
    await store.append(streamId, events, revision < 0 ? 'no_stream' : revision);
    revisions.set(streamId, revision + events.length);
    states.set(streamId, decided.right.reduce(aggregate.evolve, state));
    count += events.length;
    return decided.right;
  };
  const admin = { id: 'alice', role: 'SECURITY_ADMIN' };
  const users = { id: 'bob', role: 'USER_ADMIN' };
  const gateway = { id: 'gateway-1', role: 'GATEWAY' };
  const kiosk = (n: number) => ({ id: `kiosk-${n}`, role: 'CHARGER' });
  const device = (actor: Actor, type: string, data: object) => exec(deviceAggregate, actor, { type, data });
  const pool = (actor: Actor, type: string, data: object) => exec(keyPoolAggregate, actor, { type, data });
  /** A charge command, decided on the charge and the device and charger it names. */
  const charge = (actor: Actor, type: string, data: { chargeId: string }, serial: string, chargerId: string) => {
    const current = stateOf(chargeAggregate, data.chargeId);
    return exec(chargeAggregate, actor, { type, data }, {
      charge: current,
      device: stateOf<DeviceState>(deviceAggregate, serial),
      charger: stateOf<ChargerState>(chargerAggregate, chargerId),
      rangeStatus: deliveredRangeStatus(current, stateOf(keyPoolAggregate, sourceId)),
    });
  };

  const chargers = 8;
  for (let c = 0; c < chargers; c++) {
    const chargerId = `kiosk-${c}`;
    const location = `substation ${c}`;
    await exec(chargerAggregate, admin, { type: 'RegisterCharger', data: { chargerId, location, golden: GOLDEN } });
    await exec(chargerAggregate, kiosk(c), { type: 'AttestCharger', data: { chargerId, measurements: GOLDEN } });
  }
  const sourceId = 'bb84';
  let block = 0;
  const ingest = () =>
    pool({ id: 'qkd-link', role: 'SYSTEM' }, 'IngestKeyMaterial', {
      sourceId,
      blockId: `block-${block++}`,
      length: 1 << 20,
      qber: 0.02,
      commitment: HASH('c'),
    });
  await ingest();
  for (let n = 0; count < target; n++) {
    const serial = `UKEY-${String(n).padStart(6, '0')}`;
    const agent = kiosk(n % chargers);
    const chargerId = agent.id;
    const kind = (['UKEY', 'TF_CARD', 'SD_CARD'] as const)[n % 3];
    const credential = { credentialKind: 'CERTIFICATE', credentialFingerprint: HASH('f') };
    await device(admin, 'InitializeDevice', { serial, kind, ...credential });
    await device(users, 'DistributeDevice', { serial, organisation: `grid-${n % 5}` });
    await device(users, 'BindDevice', { serial, userId: `user-${n}` });

    const chargeId = `charge-${n}`;
    const rangeId = `range-${n}`;
    const bytes = 4_096 * (1 + (n % 4));
    const step = (type: string, data: object) => charge(agent, type, { chargeId, ...data }, serial, chargerId);
    await step('StartCharge', { deviceSerial: serial, chargerId, sourceId, bytes });
    if (n % 7 === 3) await device(agent, 'RecordDeviceAuthenticationFailure', { serial, chargerId, chargeId, reason: 'BAD_PIN' });
    const verified = n % 50 !== 17;
    await step('RecordChargeDeviceVerification', { verified, method: 'CERTIFICATE' });
    if (!verified) continue;
    if (stateOf(keyPoolAggregate, sourceId).balance.available < bytes) await ingest();
    const [reserved] = await pool(agent, 'ReserveKeyRange', { sourceId, rangeId, length: bytes, chargeId });
    const { offset } = reserved.data as { offset: number };
    await step('DeliverChargeKeys', { sourceId, rangeId, offset, length: bytes, commitment: HASH('d') });
    await pool(agent, 'IssueKeyRange', { sourceId, rangeId, deviceSerial: serial });
    await step('CompleteCharge', { deviceAcknowledgement: HASH('a') });

    if (n % 4 === 2) await pool(gateway, 'ConsumeKeyRange', { sourceId, rangeId });
    if (n % 10 === 5) {
      await device(users, 'ReportDeviceLost', { serial, reason: 'reported by user' });
      await pool(admin, 'FreezeKeyRange', { sourceId, rangeId, reason: 'device lost' });
      await device(users, 'CancelDeviceLoss', { serial });
      await pool(admin, 'RestoreKeyRange', { sourceId, rangeId });
    }
    if (n % 25 === 9) {
      await pool(admin, 'DestroyKeyRange', { sourceId, rangeId, reason: 'device retired' });
      await device(admin, 'DestroyDevice', { serial, reason: 'retired' });
    }
  }
  return count;
};

const rate = async (events: number, work: () => Promise<void>): Promise<number> => {
  const started = process.hrtime.bigint();
  await work();
  return events / (Number(process.hrtime.bigint() - started) / 1e9);
};

const result = (name: string, value: number, baseline: number): Result => ({
  name,
  value: Number(value.toFixed(1)),
  unit: 'events/s',
  baseline: Number(baseline.toFixed(1)),
  ratio: Number((value / baseline).toFixed(3)),
});

const main = async (): Promise<void> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-bench-projection-'));
  const store = new SqliteEventStore(path.join(dir, 'events.db'));
  const namespace = `qkmp-bench:${randomUUID().slice(0, 8)}:`;
  const redisViews = RedisViewStore.open(REDIS_URL, namespace);
  const raw = createClient({ url: REDIS_URL });
  raw.on('error', () => undefined);
  const rawPrefix = `${namespace}raw:`;
  try {
    if (!(await redisViews.ready(5_000))) throw new Error(`Redis at ${REDIS_URL} is not reachable`);
    await raw.connect();
    const events = await buildLog(store, EVENTS);
    const value = JSON.stringify((await store.readAll({ maxCount: 1 }))[0]);

    const readAll = async (): Promise<void> => {
      for (let after = 0; ; ) {
        const page = await store.readAll({ after, maxCount: BATCH_SIZE });
        if (page.length === 0) return;
        after = page[page.length - 1].position;
      }
    };
    const rawWrite = async (): Promise<void> => {
      for (let i = 0; i < events; i += BATCH_SIZE) {
        const multi = raw.multi();
        for (let k = i; k < Math.min(events, i + BATCH_SIZE); k++) multi.set(`${rawPrefix}${k}`, value);
        await multi.execAsPipeline();
      }
    };
    const replay = (views: ViewStore) => async (): Promise<void> => {
      await catchUp(store, views, { projections: allProjections, batchSize: BATCH_SIZE });
    };

    const rates = { readAll: [] as number[], rawWrite: [] as number[], memory: [] as number[], redis: [] as number[] };
    // One warm-up round, then measured rounds; each round runs all four, so drift in the machine hits all alike.
    for (let round = 0; round <= ROUNDS; round++) {
      const measured = {
        readAll: await rate(events, readAll),
        rawWrite: await rate(events, rawWrite),
        memory: await rate(events, replay(new MemoryViewStore())),
        redis: await rate(events, replay(redisViews)),
      };
      await redisViews.drop();
      if (round > 0) for (const key of Object.keys(rates) as (keyof typeof rates)[]) rates[key].push(measured[key]);
    }
    const [readAllRate, rawWriteRate, memoryRate, redisRate] = [
      rates.readAll,
      rates.rawWrite,
      rates.memory,
      rates.redis,
    ].map(median);
    for (const line of [
      result(`replay ${events} events into memory vs sqlite readAll`, memoryRate, readAllRate),
      result(`replay ${events} events into memory vs raw pipelined Redis write`, memoryRate, rawWriteRate),
      result(`replay ${events} events into Redis vs sqlite readAll`, redisRate, readAllRate),
      result(`replay ${events} events into Redis vs raw pipelined Redis write`, redisRate, rawWriteRate),
    ]) {
      console.log(JSON.stringify(line));
    }
  } finally {
    await redisViews.drop().catch(() => undefined);
    await redisViews.close();
    if (raw.isReady) {
      for await (const keys of raw.scanIterator({ MATCH: `${rawPrefix}*`, COUNT: 1_000 })) {
        if (keys.length > 0) await raw.unlink(keys);
      }
      await raw.close();
    } else raw.destroy();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
