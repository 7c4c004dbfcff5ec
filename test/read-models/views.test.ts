import { AuditEntry, ReadModels } from '../../application/ports/read-models';
import { RecordedEvent } from '../../application/ports/event-store';
import { ViewStore } from '../../application/ports/view-store';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { InvalidQueryError } from '../../read-models/errors';
import { Projector } from '../../read-models/projector';
import { createReadModels } from '../../read-models/read-models';
import { CHARGER, platform, Platform, SECURITY_ADMIN, USER_ADMIN } from './support/platform';
import { bothStores, discard } from './support/stores';

const HOUR = 3_600_000;
const BAD = { bootModule: '9'.repeat(64), operatingSystem: '2'.repeat(64), application: '3'.repeat(64) };
const REFUSALS = ['DeviceAuthenticationFailed', 'DevicePinLocked', 'ChargerAttestationFailed', 'AccessDenied'];

/** A day of platform life spread over several hours and across midnight. */
const lifecycle = async (p: Platform): Promise<void> => {
  await p.registerCharger('kiosk-1');
  await p.registerCharger('kiosk-2', false);
  await p.run(CHARGER, { type: 'AttestCharger', data: { chargerId: 'kiosk-2', measurements: BAD } });
  await p.registerCharger('kiosk-3');
  await p.run(SECURITY_ADMIN, { type: 'RevokeCharger', data: { chargerId: 'kiosk-3', reason: 'decommissioned' } });
  await p.ingest('bb84', 'block-1', 10_000);
  await p.ingest('bb84', 'block-2', 5_000);
  await p.ingest('kme-1', 'block-a', 3_000);
  p.advance(HOUR);
  await p.activeDevice('UKEY-000001', 'grid-east', 'user-1');
  await p.activeDevice('UKEY-000002', 'grid-east', 'user-2', 'TF_CARD');
  await p.run(SECURITY_ADMIN, {
    type: 'InitializeDevice',
    data: { serial: 'UKEY-000003', kind: 'SD_CARD', credentialKind: 'QK_STRING', credentialFingerprint: 'e'.repeat(64) },
  });
  await p.run(SECURITY_ADMIN, {
    type: 'InitializeDevice',
    data: { serial: 'UKEY-000004', kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: 'e'.repeat(64) },
  });
  await p.run(USER_ADMIN, { type: 'DistributeDevice', data: { serial: 'UKEY-000004', organisation: 'grid-west' } });
  p.advance(HOUR / 2);
  await p.charge('c-1', 'UKEY-000001', 'kiosk-1', 'bb84', 1_000);
  await p.charge('c-2', 'UKEY-000002', 'kiosk-1', 'bb84', 500);
  p.advance(HOUR);
  await p.run(SECURITY_ADMIN, { type: 'FreezeKeyRange', data: { sourceId: 'bb84', rangeId: 'c-1-r', reason: 'audit hold' } });
  await p.run(SECURITY_ADMIN, { type: 'RestoreKeyRange', data: { sourceId: 'bb84', rangeId: 'c-1-r' } });
  await p.run(CHARGER, { type: 'ConsumeKeyRange', data: { sourceId: 'bb84', rangeId: 'c-2-r' } });
  await p.run(SECURITY_ADMIN, { type: 'DestroyKeyRange', data: { sourceId: 'bb84', rangeId: 'c-2-r', reason: 'used up' } });
  await p.run(CHARGER, { type: 'ReserveKeyRange', data: { sourceId: 'bb84', rangeId: 'spare', length: 200, chargeId: 'c-9' } });
  await p.run(CHARGER, { type: 'ReleaseKeyRange', data: { sourceId: 'bb84', rangeId: 'spare' } });
  p.advance(14 * HOUR);
  for (let i = 0; i < 5; i++) {
    await p.run(CHARGER, {
      type: 'RecordDeviceAuthenticationFailure',
      data: { serial: 'UKEY-000002', chargerId: 'kiosk-1', chargeId: 'c-3', reason: 'BAD_PIN' },
    });
  }
  await p.run(CHARGER, {
    type: 'StartCharge',
    data: { chargeId: 'c-3', deviceSerial: 'UKEY-000002', chargerId: 'kiosk-1', sourceId: 'bb84', bytes: 100 },
  });
  p.advance(HOUR);
  await p.run(USER_ADMIN, { type: 'ReportDeviceLost', data: { serial: 'UKEY-000001', reason: 'left on a train' } });
  await p.run(USER_ADMIN, { type: 'CancelDeviceLoss', data: { serial: 'UKEY-000001' } });
  await p.run(SECURITY_ADMIN, { type: 'FreezeDevice', data: { serial: 'UKEY-000001', reason: 'inspection' } });
  await p.run(SECURITY_ADMIN, { type: 'RestoreDevice', data: { serial: 'UKEY-000001' } });
  const carol = { principalId: 'carol', role: 'AUDITOR' };
  await p.appendForeign('principal-carol', 'PrincipalCreated', carol, SECURITY_ADMIN, 'onboarding-7');
  await p.appendForeign(
    'access-eve',
    'AccessDenied',
    { principalId: 'eve', role: 'AUDITOR', operation: 'freezeDevice', target: 'device-UKEY-000001', reason: 'FORBIDDEN' },
    { id: 'eve', role: 'AUDITOR' },
  );
};

/** Every item of a list, following its cursors. */
const allPages = async <T>(read: (after?: string) => Promise<{ items: readonly T[]; endCursor: string | null }>) => {
  const items: T[] = [];
  let after: string | undefined;
  do {
    const page = await read(after);
    items.push(...page.items);
    after = page.endCursor ?? undefined;
  } while (after !== undefined);
  return items;
};

/** The other targets an event names, read off its data: what a search by those targets must find too. */
const namedBy = (event: RecordedEvent): string[] => {
  const data = event.data as Record<string, unknown>;
  const own = event.streamId.replace('-', ':');
  const named = [
    data.deviceSerial && `device:${data.deviceSerial}`,
    data.chargerId && `charger:${data.chargerId}`,
    event.type === 'AccessDenied' && String(data.target).replace('-', ':'),
  ];
  return named.filter((target): target is string => typeof target === 'string' && target !== own);
};

const outcomeOf = (type: string): string => (type === 'ChargeFailed' ? 'FAILED' : REFUSALS.includes(type) ? 'REFUSED' : 'SUCCESS');

/** Counts per key, from the log itself: the oracle the statistics are checked against. */
const countBy = <T>(items: readonly T[], key: (item: T) => string): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
};

describe.each(bothStores)('read models in the $name view store', (kind) => {
  let store: InMemoryEventStore;
  let views: ViewStore;
  let projector: Projector;
  let models: ReadModels;
  let log: RecordedEvent[];

  beforeAll(async () => {
    store = new InMemoryEventStore();
    views = await kind.open('views');
    projector = new Projector(store, views);
    projector.start();
    models = createReadModels(views, projector);
    const p = platform(store);
    await lifecycle(p);
    log = await store.readAll();
    expect(await models.waitFor(log[log.length - 1].position, 10_000)).toBe(true);
  });

  afterAll(async () => {
    await projector.stop();
    await store.close();
    await discard(views);
  });

  describe('devices', () => {
    it('then each device view holds its lifecycle, with the latest step winning', async () => {
      const one = await models.device('UKEY-000001');
      const last = log.filter((e) => e.streamId === 'device-UKEY-000001').pop()!;
      expect(one).toMatchObject({
        serial: 'UKEY-000001',
        kind: 'UKEY',
        status: 'ACTIVE',
        credentialKind: 'CERTIFICATE',
        organisation: 'grid-east',
        userId: 'user-1',
        pinLocked: false,
        destroyedAt: null,
        pinLockedAt: null,
        pinUnblockedAt: null,
        updatedAt: last.metadata.occurredAt,
        position: last.position,
      });
      for (const step of ['distributedAt', 'boundAt', 'reportedLostAt', 'lossCancelledAt', 'frozenAt', 'restoredAt'] as const) {
        expect(one?.[step]).toEqual(expect.stringMatching(/^2026-03-0\dT/));
      }
      expect(await models.device('UKEY-000002')).toMatchObject({ kind: 'TF_CARD', status: 'ACTIVE', pinLocked: true });
      expect(await models.device('UKEY-000003')).toMatchObject({ status: 'INITIALIZED', organisation: null, userId: null });
      expect(await models.device('UKEY-999999')).toBeNull();
    });

    it('filters by status, kind, organisation and user, alone and combined', async () => {
      const serials = async (filter: object) => (await models.devices(filter, {})).items.map((d) => d.serial);
      expect(await serials({ status: 'ACTIVE' })).toEqual(['UKEY-000001', 'UKEY-000002']);
      expect(await serials({ kind: 'TF_CARD' })).toEqual(['UKEY-000002']);
      expect(await serials({ organisation: 'grid-west' })).toEqual(['UKEY-000004']);
      expect(await serials({ userId: 'user-2' })).toEqual(['UKEY-000002']);
      expect(await serials({ organisation: 'grid-east', kind: 'UKEY', status: 'ACTIVE' })).toEqual(['UKEY-000001']);
      expect(await serials({ organisation: 'grid-west', status: 'ACTIVE' })).toEqual([]);
      expect((await models.devices({ status: 'DISTRIBUTED' }, {})).total).toBe(1);
    });

    it('pages in serial order with opaque cursors and a total over all pages', async () => {
      const first = await models.devices({}, { first: 3 });
      expect(first.items.map((d) => d.serial)).toEqual(['UKEY-000001', 'UKEY-000002', 'UKEY-000003']);
      expect(first.total).toBe(4);
      expect(first.endCursor).not.toContain('UKEY');
      const second = await models.devices({}, { first: 3, after: first.endCursor! });
      expect(second.items.map((d) => d.serial)).toEqual(['UKEY-000004']);
      expect(second.endCursor).toBeNull();
      const combined = await allPages((after) => models.devices({ organisation: 'grid-east', status: 'ACTIVE' }, { first: 1, after }));
      expect(combined.map((d) => d.serial)).toEqual(['UKEY-000001', 'UKEY-000002']);
    });

    it('refuses a bad page size, cursor or filter value by naming it', async () => {
      await expect(models.devices({}, { first: 0 })).rejects.toThrow(/first: must be a whole number from 1 to 500/);
      await expect(models.devices({}, { after: 'bogus' })).rejects.toThrow(InvalidQueryError);
      const chargerCursor = (await models.chargers({ first: 1 })).endCursor!;
      await expect(models.devices({}, { after: chargerCursor })).rejects.toThrow(
        /after: must be the endCursor of a previous page of devices/,
      );
      await expect(models.devices({ status: 'BROKEN' as never }, {})).rejects.toThrow(/status: must be one of/);
    });
  });

  describe('key balances', () => {
    it('then each device holds what was issued to it, less what was consumed, frozen or destroyed', async () => {
      expect(await models.deviceBalance('UKEY-000001')).toEqual({
        serial: 'UKEY-000001', charged: 1_000, consumed: 0, frozen: 0, destroyed: 0, remaining: 1_000,
      });
      expect(await models.deviceBalance('UKEY-000002')).toEqual({
        serial: 'UKEY-000002', charged: 500, consumed: 0, frozen: 0, destroyed: 500, remaining: 0,
      });
      expect(await models.deviceBalance('UKEY-000003')).toEqual({
        serial: 'UKEY-000003', charged: 0, consumed: 0, frozen: 0, destroyed: 0, remaining: 0,
      });
      expect(await models.deviceBalance('UKEY-999999')).toBeNull();
    });

    it('then each pool splits what was ingested into states that add up', async () => {
      const pools = await models.pools();
      expect(pools.map((p) => p.sourceId)).toEqual(['bb84', 'kme-1']);
      expect(await models.poolBalance('bb84')).toEqual({
        sourceId: 'bb84', ingested: 15_000, available: 13_500, reserved: 0, issued: 1_000, frozen: 0, consumed: 0, destroyed: 500,
      });
      for (const { sourceId, ingested, ...states } of pools) {
        expect(Object.values(states).reduce((a, b) => a + b, 0)).toBe(ingested);
        expect(sourceId).toBeTruthy();
      }
      expect(await models.poolBalance('nowhere')).toBeNull();
    });
  });

  describe('chargers', () => {
    it('then each charger shows its status, its steps and the bytes it charged', async () => {
      expect(await models.charger('kiosk-1')).toMatchObject({ status: 'ATTESTED', bytesCharged: 1_500, revokedAt: null });
      expect(await models.charger('kiosk-2')).toMatchObject({
        status: 'ATTESTATION_FAILED',
        attestedAt: null,
        attestationFailedAt: expect.any(String),
        bytesCharged: 0,
      });
      expect(await models.charger('kiosk-3')).toMatchObject({ status: 'REVOKED', revokedAt: expect.any(String) });
      const page = await models.chargers({ first: 2 });
      expect(page.items.map((c) => c.chargerId)).toEqual(['kiosk-1', 'kiosk-2']);
      expect(page.total).toBe(3);
    });
  });

  describe('audit', () => {
    it('has one entry per event in the log, known or not, newest first', async () => {
      const entries = await allPages((after) => models.audit({}, { first: 7, after }));
      expect(entries.map((e) => e.position)).toEqual(log.map((e) => e.position).reverse());
      const byPosition = new Map(entries.map((e) => [e.position, e]));
      for (const event of log) {
        expect(byPosition.get(event.position)).toEqual({
          position: event.position,
          eventId: event.id,
          streamId: event.streamId,
          revision: event.revision,
          action: event.type,
          target: event.streamId.replace('-', ':'),
          actorId: event.metadata.actorId,
          actorRole: event.metadata.actorRole,
          outcome: outcomeOf(event.type),
          reason: outcomeOf(event.type) === 'SUCCESS' ? null : expect.any(String),
          at: event.metadata.occurredAt,
          commandId: event.metadata.commandId,
          correlationId: event.metadata.correlationId,
          concerns: namedBy(event),
        });
      }
      expect(entries.find((e) => e.action === 'PrincipalCreated')?.correlationId).toBe('onboarding-7');
      expect(entries.find((e) => e.action === 'ChargeFailed')?.concerns).toEqual(['device:UKEY-000002', 'charger:kiosk-1']);
    });

    it('records refusals and failures with their reason, and nothing secret', async () => {
      const denied = (await models.audit({ action: 'AccessDenied' }, {})).items;
      expect(denied).toEqual([
        expect.objectContaining({
          target: 'access:eve',
          actorId: 'eve',
          outcome: 'REFUSED',
          reason: 'FORBIDDEN: freezeDevice on device:UKEY-000001',
        }),
      ]);
      const [failed] = (await models.audit({ outcome: 'FAILED' }, {})).items;
      expect(failed).toMatchObject({ action: 'ChargeFailed', target: 'charge:c-3', reason: 'DEVICE_PIN_LOCKED' });
      const [locked] = (await models.audit({ action: 'DevicePinLocked' }, {})).items;
      expect(locked.reason).toBe('PIN locked after 5 failed attempts');
      const [attestation] = (await models.audit({ action: 'ChargerAttestationFailed' }, {})).items;
      expect(attestation.reason).toBe('boot measurements differ from the golden values: bootModule');
      expect((await models.audit({ action: 'PrincipalCreated' }, {})).items[0]).toMatchObject({
        target: 'principal:carol',
        outcome: 'SUCCESS',
        reason: null,
      });
      const everything = JSON.stringify(await allPages((after) => models.audit({}, { first: 500, after })));
      expect(everything).not.toMatch(/"(commitment|credentialFingerprint|deviceAcknowledgement|golden)"/);
    });

    it('searches by target, actor, action, outcome and time, alone and combined', async () => {
      const expectMatch = async (filter: object, predicate: (e: AuditEntry) => boolean) => {
        const found = await allPages((after) => models.audit(filter, { first: 4, after }));
        const all = await allPages((after) => models.audit({}, { first: 500, after }));
        expect(found).toEqual(all.filter(predicate));
        expect(found.length).toBeGreaterThan(0);
        expect((await models.audit(filter, { first: 1 })).total).toBe(found.length);
      };
      const about = (target: string) => (e: AuditEntry) => e.target === target || e.concerns.includes(target);
      await expectMatch({ target: 'device:UKEY-000002' }, about('device:UKEY-000002'));
      await expectMatch({ target: 'charger:kiosk-1' }, about('charger:kiosk-1'));
      // A device's audit holds its failed charges and the requests refused on it, not only its own stream.
      const device2 = await allPages((after) => models.audit({ target: 'device:UKEY-000002' }, { first: 500, after }));
      expect(device2).toContainEqual(expect.objectContaining({ action: 'ChargeFailed', target: 'charge:c-3', reason: 'DEVICE_PIN_LOCKED' }));
      expect(device2.filter((e) => e.action === 'KeyRangeIssued')).toHaveLength(1);
      const device1 = await allPages((after) => models.audit({ target: 'device:UKEY-000001', outcome: 'REFUSED' }, { first: 500, after }));
      expect(device1).toEqual([expect.objectContaining({ action: 'AccessDenied', target: 'access:eve' })]);
      const kiosk1 = await allPages((after) => models.audit({ target: 'charger:kiosk-1', outcome: 'REFUSED' }, { first: 500, after }));
      expect(kiosk1.map((e) => e.action)).toEqual(Array(5).fill('DeviceAuthenticationFailed'));
      await expectMatch({ actorId: 'kiosk-agent' }, (e) => e.actorId === 'kiosk-agent');
      await expectMatch({ outcome: 'REFUSED' }, (e) => e.outcome === 'REFUSED');
      // Successes have no index of their own: they are the entries that are no failure.
      await expectMatch({ outcome: 'SUCCESS' }, (e) => e.outcome === 'SUCCESS');
      for (const target of ['device:UKEY-000002', 'device:UKEY-000003']) {
        await expectMatch({ outcome: 'SUCCESS', target }, (e) => e.outcome === 'SUCCESS' && about(target)(e));
      }
      await expectMatch({ outcome: 'SUCCESS', actorId: 'kiosk-agent', action: 'ChargeStarted' }, (e) =>
        e.outcome === 'SUCCESS' && e.actorId === 'kiosk-agent' && e.action === 'ChargeStarted');
      await expectMatch({ actorId: 'kiosk-agent', outcome: 'REFUSED', target: 'device:UKEY-000002' }, (e) =>
        e.actorId === 'kiosk-agent' && e.outcome === 'REFUSED' && about('device:UKEY-000002')(e));
      const from = '2026-03-01T09:00:00.000Z';
      const to = '2026-03-02T00:00:00.000Z';
      await expectMatch({ from, to }, (e) => e.at >= from && e.at < to);
      await expectMatch({ from, to, action: 'KeyRangeIssued' }, (e) => e.at >= from && e.at < to && e.action === 'KeyRangeIssued');
      await expectMatch({ from, to, outcome: 'SUCCESS' }, (e) => e.at >= from && e.at < to && e.outcome === 'SUCCESS');
      const late = '2026-03-02T00:00:00.000Z';
      await expectMatch({ from: late, outcome: 'SUCCESS' }, (e) => e.at >= late && e.outcome === 'SUCCESS');
      await expect(models.audit({ from: 'yesterday' }, {})).rejects.toThrow(/from: must be an ISO-8601 time/);
    });

    it('counts per action per hour and per day, failures and top actors, exactly for any range', async () => {
      const oracle = (from?: string, to?: string) => {
        const inRange = log.filter((e) => (!from || e.metadata.occurredAt >= from) && (!to || e.metadata.occurredAt < to));
        const buckets = (length: number, suffix: string) =>
          [...countBy(inRange, (e) => `${e.metadata.occurredAt.slice(0, length)}${suffix}|${e.type}`)]
            .map(([key, count]) => ({ bucket: key.split('|')[0], action: key.split('|')[1], count }))
            .sort((a, b) => (a.bucket + a.action < b.bucket + b.action ? -1 : 1));
        const failures = inRange.filter((e) => outcomeOf(e.type) !== 'SUCCESS');
        return {
          total: inRange.length,
          failures: failures.length,
          perHour: buckets(13, ':00:00.000Z'),
          perDay: buckets(10, 'T00:00:00.000Z'),
          failuresByAction: Object.fromEntries(countBy(failures, (e) => e.type)),
          topActors: Object.fromEntries(countBy(inRange, (e) => e.metadata.actorId)),
        };
      };
      for (const [from, to] of [
        [undefined, undefined],
        ['2026-03-01T09:20:00.000Z', '2026-03-02T00:10:00.000Z'],
        ['2026-03-01T10:00:00.000Z', '2026-03-01T11:00:00.000Z'],
      ]) {
        const stats = await models.auditStats({ from, to }, 100);
        const expected = oracle(from, to);
        expect(stats.total).toBe(expected.total);
        expect(stats.failures).toBe(expected.failures);
        expect(stats.perHour).toEqual(expected.perHour);
        expect(stats.perDay).toEqual(expected.perDay);
        expect(Object.fromEntries(stats.failuresByAction.map((f) => [f.action, f.count]))).toEqual(expected.failuresByAction);
        expect(Object.fromEntries(stats.topActors.map((a) => [a.actorId, a.count]))).toEqual(expected.topActors);
        const counts = stats.topActors.map((a) => a.count);
        expect(counts).toEqual([...counts].sort((a, b) => b - a));
      }
      const top1 = await models.auditStats({}, 1);
      expect(top1.topActors).toHaveLength(1);
      expect(top1.failuresByAction[0]).toEqual({ action: 'DeviceAuthenticationFailed', count: 5 });
    });
  });

  it('reports the lowest checkpoint, not stale once caught up', async () => {
    expect(await models.status()).toEqual({ position: log[log.length - 1].position, stale: false });
  });
});
