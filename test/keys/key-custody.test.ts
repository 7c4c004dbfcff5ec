import * as E from 'fp-ts/Either';
import { randomBytes, randomUUID } from 'node:crypto';
import { deliverChargeKeys } from '../../application/charge/deliver-keys';
import { CommandBus } from '../../application/command-bus';
import { followKeyCustody } from '../../application/keypool/key-custody';
import { KeyPool } from '../../application/keypool/key-pool';
import { KeyMaterialMissingError } from '../../application/ports/key-vault';
import { commandRoutes } from '../../application/routes';
import { keyPoolAggregate, RangeStatus } from '../../domain/keypool';
import { saeKeysAggregate } from '../../domain/saekeys';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { SqliteKeyVault } from '../../infrastructure/keys/sqlite-key-vault';
import { wrappingKey } from './support';

const SYSTEM = { id: 'test', role: 'SYSTEM' } as const;
const GOLDEN = { bootModule: 'a'.repeat(64), operatingSystem: 'b'.repeat(64), application: 'c'.repeat(64) };

describe('keys follow their holder: charge deliveries, device loss, freeze and destruction', () => {
  let store: InMemoryEventStore;
  let bus: CommandBus;
  let vault: SqliteKeyVault;
  let pool: KeyPool;
  const faults: Error[] = [];
  beforeEach(async () => {
    store = new InMemoryEventStore();
    bus = new CommandBus(store, commandRoutes);
    vault = SqliteKeyVault.open(':memory:', wrappingKey());
    pool = new KeyPool(bus, vault, randomBytes(32));
    faults.length = 0;
    expect(E.isRight(await pool.ingest(SYSTEM, 'bb84', { blockId: 'block-1', key: randomBytes(4096), qber: 0.02 }))).toBe(true);
  });
  afterEach(async () => {
    await vault.close();
    await store.close();
  });

  const run = async (type: string, data: object) => {
    const result = await bus.execute({ commandId: `cmd-${randomUUID()}`, actor: SYSTEM }, { type, data });
    if (E.isLeft(result)) throw new Error(`${type}: ${result.left.message}`);
    return result.right;
  };
  /** An active device charged by an attested kiosk, its charge's device verified. */
  const verifiedCharge = async (serial: string) => {
    const chargeId = `charge-${serial}`;
    await run('InitializeDevice', { serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: 'd'.repeat(64) });
    await run('DistributeDevice', { serial, organisation: 'grid-north' });
    await run('BindDevice', { serial, userId: 'alice' });
    await run('RegisterCharger', { chargerId: `kiosk-${serial}`, location: 'Substation 7', golden: GOLDEN });
    await run('AttestCharger', { chargerId: `kiosk-${serial}`, measurements: GOLDEN });
    await run('StartCharge', { chargeId, deviceSerial: serial, chargerId: `kiosk-${serial}`, sourceId: 'bb84', bytes: 256 });
    await run('RecordChargeDeviceVerification', { chargeId, verified: true, method: 'CERTIFICATE' });
    return chargeId;
  };
  const deliver = async (chargeId: string, length: number) => {
    const delivered = await deliverChargeKeys(bus, pool, { id: 'kiosk', role: 'CHARGER' }, chargeId, length, 32);
    if (E.isLeft(delivered)) throw new Error(delivered.left.message);
    return delivered.right;
  };
  const statusOf = async (rangeId: string): Promise<RangeStatus | undefined> => {
    const loaded = await bus.load(keyPoolAggregate, 'bb84');
    return E.isRight(loaded) ? loaded.right.state.ranges.get(rangeId)?.status : undefined;
  };
  /** Follows the log until `done` holds (the follower runs behind the appends). */
  const eventually = async (done: () => Promise<boolean>) => {
    for (let i = 0; i < 200 && !(await done()); i++) await new Promise((r) => setTimeout(r, 10));
    expect(await done()).toBe(true);
  };

  it('given a verified charge, when keys are delivered, then the range is issued to the device, its bytes are handed out in key-ID keys, and the device is their master SAE', async () => {
    const chargeId = await verifiedCharge('UKEY-CUST-01');
    const delivered = await deliver(chargeId, 100);
    expect(delivered).toMatchObject({ delivered: 100, remaining: 156 });
    expect(delivered.keys.map((k) => k.key.length)).toEqual([32, 32, 32, 4]);
    expect(await statusOf(delivered.rangeId)).toBe('ISSUED');
    const sae = await bus.load(saeKeysAggregate, 'UKEY-CUST-01');
    const keys = E.isRight(sae) ? [...sae.right.state.keys.values()] : [];
    expect(keys.map((k) => k.keyId).sort()).toEqual(delivered.keys.map((k) => k.keyId).sort());
    for (const k of keys) expect(await vault.read('bb84', k.offset, k.length)).toEqual(delivered.keys.find((d) => d.keyId === k.keyId)!.key);
    const log = JSON.stringify(await store.readAll());
    for (const k of delivered.keys) {
      expect(log).not.toContain(k.key.toString('hex'));
      expect(log).not.toContain(k.key.toString('base64'));
    }
  });

  it('given a range destroyed for one cause, when another cause destroys it too (a restart racing the custody of a failed charge), then it gets the first receipt', async () => {
    const taken = await pool.take(SYSTEM, 'bb84', 'etsi-1', 64, 'etsi-1');
    if (E.isLeft(taken)) throw new Error(taken.left.message);
    const first = await pool.destroy(SYSTEM, 'bb84', taken.right.rangeId, 'delivered by charge c-1, which failed');
    const second = await pool.destroy(SYSTEM, 'bb84', taken.right.rangeId, 'reserved when the platform stopped: destroyed, never reissued');
    expect(E.isRight(first) && E.isRight(second) && second.right).toEqual({ ...(E.isRight(first) && first.right), replayed: true });
    expect(await statusOf(taken.right.rangeId)).toBe('DESTROYED');
  });

  it('refuses more bytes than the charge still needs, and reserves nothing', async () => {
    const chargeId = await verifiedCharge('UKEY-CUST-02');
    await deliver(chargeId, 200);
    const refused = await deliverChargeKeys(bus, pool, { id: 'kiosk', role: 'CHARGER' }, chargeId, 57, 32);
    expect(E.isLeft(refused) && refused.left.message).toMatch(/bytes: must be a whole number from 1 to 56/);
    const loaded = await bus.load(keyPoolAggregate, 'bb84');
    expect(E.isRight(loaded) && loaded.right.state.balance.reserved).toBe(0);
  });

  it('given a device reported lost after its charge was verified, when keys are asked for, then the charge fails and no key is handed out', async () => {
    const chargeId = await verifiedCharge('UKEY-CUST-05');
    await run('ReportDeviceLost', { serial: 'UKEY-CUST-05', reason: 'left on a train' });
    const refused = await deliverChargeKeys(bus, pool, { id: 'kiosk', role: 'CHARGER' }, chargeId, 64, 32, 'r-lost');
    expect(E.isLeft(refused) && refused.left).toEqual({
      code: 'INVALID_STATE',
      message:
        `cannot deliver keys to charge ${chargeId} while it is FAILED; ` +
        'it failed (DEVICE_NOT_ACTIVE) and every key it delivered is destroyed; start a new charge',
      details: { entity: 'charge', id: chargeId, state: 'FAILED', action: 'deliver keys to' },
    });
    expect(await statusOf('r-lost')).toBe('DESTROYED');
    expect(await vault.held('bb84')).toBe(4096 - 64);
  });

  it('when a charge fails, then every range it delivered is shredded and destroyed', async () => {
    const follower = followKeyCustody(store, bus, pool, (e) => faults.push(e));
    const chargeId = await verifiedCharge('UKEY-CUST-03');
    const first = await deliver(chargeId, 64);
    const second = await deliver(chargeId, 64);
    await run('FailCharge', { chargeId, reason: 'the device was pulled out' });
    await eventually(async () => (await statusOf(first.rangeId)) === 'DESTROYED' && (await statusOf(second.rangeId)) === 'DESTROYED');
    await expect(vault.read('bb84', 0, 64)).rejects.toBeInstanceOf(KeyMaterialMissingError);
    await follower.close();
    expect(faults).toEqual([]);
  });

  it('given a key delivered to its slave but not shredded (a crash between the two), the follower shreds it and consumes the finished range', async () => {
    const gateways = ['GW-NORTH-1', 'GW-SOUTH-1'];
    for (const id of gateways) await run('CreatePrincipal', { principalId: id, name: `SAE ${id}`, role: 'GATEWAY', tokenHash: 'e'.repeat(64) });
    const taken = await pool.take(SYSTEM, 'bb84', 'etsi-1', 64, 'etsi-1');
    if (E.isLeft(taken)) throw new Error(taken.left.message);
    const keyIds = [randomUUID(), randomUUID()];
    const keys = keyIds.map((keyId, i) => ({ keyId, sourceId: 'bb84', rangeId: 'etsi-1', offset: taken.right.offset + 32 * i, length: 32 }));
    await run('IssueSaeKeys', { masterSaeId: gateways[0], slaveSaeIds: [gateways[1]], requestId: 'etsi-1', keys });
    await pool.issue(SYSTEM, 'bb84', 'etsi-1', gateways[0]);
    // Recorded as delivered; the process died before it shredded anything.
    await run('DeliverSaeKeys', { masterSaeId: gateways[0], slaveSaeId: gateways[1], keyIds });
    expect(await pool.holds('bb84', taken.right.offset, 64)).toBe(true);

    const follower = followKeyCustody(store, bus, pool, (e) => faults.push(e));
    await eventually(async () => (await statusOf('etsi-1')) === 'CONSUMED');
    expect(await pool.holds('bb84', taken.right.offset, 64)).toBe(false);
    await follower.close();
    expect(faults).toEqual([]);
  });

  it.each([
    ['DestroyKeyRange', 'an admin destroyed it', { reason: 'compromised' }],
    ['ConsumeKeyRange', 'a gateway consumed it', {}],
  ])('given a range recorded by %s with its bytes still in the vault (%s over GraphQL), the follower shreds them', async (type, _, extra) => {
    const { rangeId } = await deliver(await verifiedCharge(`UKEY-CUST-${type.slice(0, 4).toUpperCase()}`), 64);
    await run(type, { sourceId: 'bb84', rangeId, ...extra });
    const loaded = await bus.load(keyPoolAggregate, 'bb84');
    const { offset, length } = E.isRight(loaded) ? loaded.right.state.ranges.get(rangeId)! : { offset: -1, length: 0 };
    expect(await pool.holds('bb84', offset, length)).toBe(true);

    const follower = followKeyCustody(store, bus, pool, (e) => faults.push(e));
    await eventually(async () => !(await pool.holds('bb84', offset, length)));
    await follower.close();
    expect(faults).toEqual([]);
  });

  it('when the device is reported lost its keys are frozen, restored when the loss is cancelled, and destroyed with the device', async () => {
    const follower = followKeyCustody(store, bus, pool, (e) => faults.push(e));
    const serial = 'UKEY-CUST-04';
    const { rangeId } = await deliver(await verifiedCharge(serial), 128);
    await run('ReportDeviceLost', { serial, reason: 'left on a train' });
    await eventually(async () => (await statusOf(rangeId)) === 'FROZEN');
    await run('CancelDeviceLoss', { serial });
    await eventually(async () => (await statusOf(rangeId)) === 'ISSUED');
    await run('DestroyDevice', { serial, reason: 'end of life' });
    await eventually(async () => (await statusOf(rangeId)) === 'DESTROYED');
    expect(await vault.held('bb84')).toBe(4096 - 128);
    await follower.close();

    // Restarted, it follows the whole log again and appends nothing.
    const before = (await store.readAll()).length;
    const again = followKeyCustody(store, bus, pool, (e) => faults.push(e));
    await new Promise((r) => setTimeout(r, 300));
    await again.close();
    expect((await store.readAll()).length).toBe(before);
    expect(faults).toEqual([]);
  });
});
