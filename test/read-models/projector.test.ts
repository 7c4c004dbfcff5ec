import { randomUUID } from 'node:crypto';
import { NewEvent } from '../../application/ports/event-store';
import { ViewsStaleError } from '../../application/ports/read-models';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { MemoryViewStore } from '../../infrastructure/read-models/memory-view-store';
import { device } from '../../read-models/device/queries';
import { Projector, ViewChange } from '../../read-models/projector';
import { createReadModels } from '../../read-models/read-models';
import { platform, Platform, SECURITY_ADMIN } from './support/platform';
import { eventually } from './support/replay';

const foreign = (n: number): NewEvent => {
  const commandId = `cmd-${randomUUID()}`;
  return {
    id: randomUUID(),
    type: 'PrincipalCreated',
    data: { principalId: `p-${n}`, role: 'AUDITOR' },
    metadata: {
      actorId: 'alice',
      actorRole: 'SECURITY_ADMIN',
      commandId,
      commandType: 'CreatePrincipal',
      correlationId: commandId,
      causationId: commandId,
      occurredAt: '2026-03-01T08:00:00.000Z',
    },
  };
};

describe('the projector', () => {
  let store: InMemoryEventStore;
  let views: MemoryViewStore;
  let projector: Projector;
  let p: Platform;

  beforeEach(() => {
    store = new InMemoryEventStore();
    views = new MemoryViewStore();
    projector = new Projector(store, views);
    p = platform(store);
  });
  afterEach(async () => {
    await projector.stop();
    await store.close();
  });

  it('is stale until its first catch-up, then reports the position it reached', async () => {
    await p.activeDevice('UKEY-000001', 'grid-east', 'user-1');
    const models = createReadModels(views, projector);
    expect(await models.status()).toMatchObject({ stale: true, reason: expect.stringMatching(/catching up/) });
    projector.start();
    expect(await models.waitFor(3, 5_000)).toBe(true);
    expect(await models.status()).toEqual({ position: 3, stale: false });
  });

  it('answers waitFor false when the position is not reached in time, and true at once when it is', async () => {
    projector.start();
    const { position } = await p.registerCharger('kiosk-1');
    expect(await projector.waitFor(position, 5_000)).toBe(true);
    const started = Date.now();
    expect(await projector.waitFor(position + 1, 150)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(await projector.waitFor(position, 0)).toBe(true);
  });

  it('tells listeners what each batch added to the audit and which devices changed', async () => {
    const changes: ViewChange[] = [];
    const off = projector.onChange((change) => changes.push(change));
    projector.start();
    await p.registerCharger('kiosk-1');
    const { position } = await p.activeDevice('UKEY-000001', 'grid-east', 'user-1');
    await projector.waitFor(position, 5_000);
    expect(changes.flatMap((c) => c.devices)).toContain('UKEY-000001');
    const failure = await p.run(SECURITY_ADMIN, {
      type: 'RecordDeviceAuthenticationFailure',
      data: { serial: 'UKEY-000001', chargerId: 'kiosk-1', chargeId: 'c-1', reason: 'BAD_PROOF' },
    });
    await projector.waitFor(failure.position, 5_000);
    off();
    expect(projector.listenerCount).toBe(0);
    const audit = changes.flatMap((c) => c.audit);
    expect(audit.map((e) => e.position)).toEqual(Array.from({ length: failure.position }, (_, i) => i + 1));
    // A failed authentication is audited but changes no field of the device view.
    expect(changes[changes.length - 1]).toEqual({
      position: failure.position,
      audit: [expect.objectContaining({ action: 'DeviceAuthenticationFailed', outcome: 'REFUSED' })],
      devices: [],
    });
  });

  it('streams changes to `for await`, and leaving the loop removes the listener', async () => {
    projector.start();
    const seen: ViewChange[] = [];
    const consumer = (async () => {
      for await (const change of projector.changes()) {
        seen.push(change);
        if (change.devices.includes('UKEY-000002')) break;
      }
    })();
    await eventually(() => projector.listenerCount === 1);
    await p.activeDevice('UKEY-000002', 'grid-west', 'user-2');
    await consumer;
    expect(seen.flatMap((c) => c.audit.map((e) => e.action))).toContain('DeviceInitialized');
    expect(projector.listenerCount).toBe(0);
  });

  it('ends iterators when their signal aborts or the projector stops', async () => {
    projector.start();
    const controller = new AbortController();
    const aborted = (async () => {
      let n = 0;
      for await (const _ of projector.changes(controller.signal)) n++;
      return n;
    })();
    const stopped = (async () => {
      let n = 0;
      for await (const _ of projector.changes()) n++;
      return n;
    })();
    await eventually(() => projector.listenerCount === 2);
    await p.registerCharger('kiosk-2');
    await eventually(() => projector.status().position > 0);
    controller.abort();
    expect(await aborted).toBeGreaterThan(0);
    await projector.stop();
    expect(await stopped).toBeGreaterThan(0);
    expect(projector.listenerCount).toBe(0);
  });

  it('writes a burst of events in a few atomic batches, not one write per event', async () => {
    projector.start();
    const writes = jest.spyOn(views, 'apply');
    for (let i = 0; i < 12; i++) {
      const events = Array.from({ length: 100 }, (_, j) => foreign(i * 100 + j));
      await store.append(`principal-burst-${i}`, events, 'no_stream');
    }
    expect(await projector.waitFor(1_200, 5_000)).toBe(true);
    expect(writes.mock.calls.length).toBeLessThan(100);
    const stats = await createReadModels(views, projector).auditStats({});
    expect(stats.total).toBe(1_200);
  });

  it('stops at a stored event it cannot read, says why, keeps what came before, and refuses queries', async () => {
    await p.activeDevice('UKEY-000003', 'grid-east', 'user-3');
    const bad = { ...foreign(0), type: 'DeviceFrozen', data: { serial: 'UKEY-000003' } };
    await store.append('device-UKEY-000003', [bad], 2);
    const faults: Error[] = [];
    const halted = new Projector(store, views, { minRetryMs: 10, onFault: (e) => faults.push(e) });
    halted.start();
    try {
      await eventually(() => faults.length > 0);
      expect(halted.status()).toMatchObject({
        stale: true,
        reason: expect.stringMatching(/device-UKEY-000003@3 .* does not match its schema; repair the stream/),
      });
      expect(halted.status().position).toBe(3);
      expect(await device(views, 'UKEY-000003')).toMatchObject({ status: 'ACTIVE', frozenAt: null });
      // The views cannot follow the log past the bad event, so they may answer for a state the device has left.
      await expect(createReadModels(views, halted).device('UKEY-000003')).rejects.toThrow(
        new ViewsStaleError(halted.status().reason!, 3),
      );
    } finally {
      await halted.stop();
    }
  });

  it('goes on from what other processes applied, when its retried batch leaves out views already past it', async () => {
    const faults: string[] = [];
    projector = new Projector(store, views, { onFault: (e) => faults.push(e.message) });
    await p.activeDevice('UKEY-000001', 'grid-east', 'user-1');
    projector.start();
    expect(await projector.waitFor(await store.lastPosition(), 5_000)).toBe(true);
    // Two other processes share the views: one keeping only the devices applies the next events
    // to them first, then one keeping every view applies the rest, each just before this one.
    const apply = views.apply.bind(views);
    let calls = 0;
    jest.spyOn(views, 'apply').mockImplementation(async (writes) => {
      calls++;
      if (calls === 1) await apply(writes.filter((w) => w.projection === 'devices'));
      if (calls === 2) await apply(writes);
      return apply(writes);
    });
    await p.activeDevice('UKEY-000002', 'grid-east', 'user-2');
    const head = await store.lastPosition();
    expect(await projector.waitFor(head, 5_000)).toBe(true);
    expect(faults).toEqual([]);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect((await createReadModels(views, projector).device('UKEY-000002'))?.status).toBe('ACTIVE');
  });
});
