import { PrincipalDirectory } from '../../../application/access/principal-directory';
import { createPrincipal, revokePrincipal, rotatePrincipalToken } from '../../../application/access/principals';
import { hashToken } from '../../../application/access/tokens';
import { CommandBus } from '../../../application/command-bus';
import { EventStore, SubscribeOptions } from '../../../application/ports/event-store';
import { principalAggregate } from '../../../domain/principal';
import { InMemoryEventStore } from '../../../infrastructure/event-store/memory';
import { given, ok } from './fixture';

let store: InMemoryEventStore;
let bus: CommandBus;
let directory: PrincipalDirectory | undefined;
beforeEach(() => {
  store = new InMemoryEventStore();
  bus = new CommandBus(store, [{ aggregate: principalAggregate }]);
});
afterEach(async () => {
  await directory?.close();
  await store.close();
});

describe('the principal directory', () => {
  it('fails closed on a principal event it cannot read: the token stops working', async () => {
    const errors: Error[] = [];
    directory = await PrincipalDirectory.open(store, { onError: (e) => errors.push(e) });
    const issued = ok(await createPrincipal(bus, { name: 'Auditor', role: 'AUDITOR' }));
    await directory.caughtUpTo(issued.position);
    expect(directory.lookup(hashToken(issued.token))).toMatchObject({ status: 'active' });

    await given(store, `principal-${issued.principalId}`, { type: 'PrincipalSuspended', data: {} });
    await directory.caughtUpTo(issued.position + 1);
    expect(directory.lookup(hashToken(issued.token))).toMatchObject({ status: 'retired' });
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining('type PrincipalSuspended, which this version does not know'),
    ]);
  });

  it('tells its listeners of each retired token as it applies the event, with the lookup already retired', async () => {
    const errors: string[] = [];
    directory = await PrincipalDirectory.open(store, { onError: (e) => errors.push(e.message) });
    const issued = ok(await createPrincipal(bus, { name: 'Auditor', role: 'AUDITOR' }));
    const told: [string, string][] = [];
    directory.onTokenRetired(() => {
      throw new Error('a listener failed');
    });
    const stop = directory.onTokenRetired((principal) =>
      told.push([principal.id, directory!.lookup(hashToken(issued.token)).status]),
    );
    const rotated = ok(await rotatePrincipalToken(bus, issued.principalId));
    await directory.caughtUpTo(rotated.position);
    // Only the token that stopped working: the one issued by the rotation works.
    expect(told).toEqual([[issued.principalId, 'retired']]);
    expect(directory.lookup(hashToken(rotated.token))).toMatchObject({ status: 'active' });
    expect(errors).toEqual(['a listener failed']);

    stop();
    const revoked = ok(await revokePrincipal(bus, issued.principalId, 'left'));
    await directory.caughtUpTo(revoked.position);
    expect(told).toHaveLength(1);
    expect(directory.lookup(hashToken(rotated.token))).toMatchObject({ status: 'retired' });
  });

  it('ignores events of other streams but counts their positions', async () => {
    directory = await PrincipalDirectory.open(store);
    const distributed = { type: 'DeviceDistributed', data: { serial: 'UKEY-000001', organisation: 'x' } };
    await given(store, 'device-UKEY-000001', distributed);
    await expect(directory.caughtUpTo(1)).resolves.toBeUndefined();
    expect(directory.lookup('a'.repeat(64))).toEqual({ status: 'unknown' });
  });

  it('subscribes again after its subscription stopped, missing nothing', async () => {
    let failNext = true;
    const flaky: EventStore = {
      append: (...args) => store.append(...args),
      readStream: (...args) => store.readStream(...args),
      readAll: (...args) => store.readAll(...args),
      lastPosition: () => store.lastPosition(),
      close: () => store.close(),
      subscribe: (options: SubscribeOptions) => {
        if (!failNext) return store.subscribe(options);
        failNext = false;
        return store.subscribe({ ...options, onEvent: () => Promise.reject(new Error('connection lost')) });
      },
    };
    const errors: string[] = [];
    directory = await PrincipalDirectory.open(flaky, { onError: (e) => errors.push(e.message), resubscribeMs: 10 });
    const issued = ok(await createPrincipal(bus, { name: 'Gateway', role: 'GATEWAY' }));
    await directory.caughtUpTo(issued.position);
    expect(errors).toEqual(['connection lost']);
    expect(directory.lookup(hashToken(issued.token))).toMatchObject({
      status: 'active',
      principal: { id: issued.principalId },
    });
  });
});
