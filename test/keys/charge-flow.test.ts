import * as E from 'fp-ts/Either';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { deliverChargeKeys } from '../../application/charge/deliver-keys';
import { CommandBus } from '../../application/command-bus';
import { KeyPool } from '../../application/keypool/key-pool';
import { EventStore } from '../../application/ports/event-store';
import { commandRoutes } from '../../application/routes';
import { chargeAggregate } from '../../domain/charge';
import { SqliteEventStore } from '../../infrastructure/event-store/sqlite';
import { SqliteKeyVault } from '../../infrastructure/keys/sqlite-key-vault';
import { tempDir, wrappingKey } from './support';

// The charging flow on the real stores (SQLite log and vault files), as `qkmp serve` runs it.

const SYSTEM = { id: 'test', role: 'SYSTEM' } as const;
const SOURCE = 'bb84';
const GOLDEN = { bootModule: 'a'.repeat(64), operatingSystem: 'b'.repeat(64), application: 'c'.repeat(64) };
const dir = tempDir('qkmp-charge-flow-');

/** One platform process over the files of `name`: opened again, it is the process after a restart. */
const open = (name: string, meddle: (store: EventStore) => EventStore = (store) => store) => {
  const store: EventStore = new SqliteEventStore(path.join(dir(), `${name}-events.db`));
  const bus = new CommandBus(meddle(store), commandRoutes);
  const vault = SqliteKeyVault.open(path.join(dir(), `${name}-vault.db`), vaultKey);
  const pool = new KeyPool(bus, vault, commitmentKey);
  const run = async (type: string, data: object) => {
    const result = await bus.execute({ commandId: `cmd-${type}-${Math.random()}`, actor: SYSTEM }, { type, data });
    if (E.isLeft(result)) throw new Error(`${type}: ${result.left.message}`);
    return result.right;
  };
  const close = async () => {
    await vault.close();
    await store.close();
  };
  return { store, bus, vault, pool, run, close };
};
type Process = ReturnType<typeof open>;
const vaultKey = wrappingKey();
const commitmentKey = randomBytes(32);

/** An active device, its own attested kiosk, and a charge of `bytes` with the device verified. */
const verifiedCharge = async ({ run }: Process, n: number, bytes: number) => {
  const serial = `UKEY-FLOW-${String(n).padStart(3, '0')}`;
  const [chargerId, chargeId] = [`kiosk-${n}`, `charge-${n}`];
  await run('InitializeDevice', { serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: 'd'.repeat(64) });
  await run('DistributeDevice', { serial, organisation: 'grid-north' });
  await run('BindDevice', { serial, userId: `user-${n}` });
  await run('RegisterCharger', { chargerId, location: `Substation ${n}`, golden: GOLDEN });
  await run('AttestCharger', { chargerId, measurements: GOLDEN });
  await run('StartCharge', { chargeId, deviceSerial: serial, chargerId, sourceId: SOURCE, bytes });
  await run('RecordChargeDeviceVerification', { chargeId, verified: true, method: 'CERTIFICATE' });
  return { serial, chargerId, chargeId };
};

describe('kiosks charging their own devices at once', () => {
  it('all get their keys: reservations of one pool take turns in the process instead of failing with CONFLICT', async () => {
    const p = open('concurrent');
    try {
      expect(E.isRight(await p.pool.ingest(SYSTEM, SOURCE, { blockId: 'block-1', key: randomBytes(32 * 64 * 2), qber: 0.02 }))).toBe(true);
      const charges = [];
      for (let n = 0; n < 32; n++) charges.push(await verifiedCharge(p, n, 64));
      const outcomes = await Promise.all(
        charges.flatMap(({ chargerId, chargeId }) =>
          [0, 1].map(() => deliverChargeKeys(p.bus, p.pool, { id: chargerId, role: 'CHARGER' }, chargeId, 32, 32)),
        ),
      );
      expect(outcomes.filter(E.isLeft).map((o) => o.left.message)).toEqual([]);
      for (const { chargeId } of charges) {
        const charge = await p.bus.load(chargeAggregate, chargeId);
        expect(E.isRight(charge) && charge.right.state).toMatchObject({ status: 'KEYS_DELIVERED', delivered: 64 });
      }
    } finally {
      await p.close();
    }
  }, 60_000);
});

describe('two platform processes on one log', () => {
  it('a reservation that loses every race to the other process says so, not that a console is acting', async () => {
    const other = open('two-processes');
    expect(E.isRight(await other.pool.ingest(SYSTEM, SOURCE, { blockId: 'block-1', key: randomBytes(4096), qber: 0.02 }))).toBe(true);
    let taken = 0;
    // Each time this process appends to the pool, the other has just reserved a range of it.
    const p = open('two-processes', (store) =>
      Object.assign(Object.create(store) as EventStore, {
        append: async (...args: Parameters<EventStore['append']>) => {
          if (args[0] === `keypool-${SOURCE}`) await other.pool.take(SYSTEM, SOURCE, `other-${++taken}`, 16, `other-${taken}`);
          return store.append(...args);
        },
      }),
    );
    try {
      const refused = await p.pool.take(SYSTEM, SOURCE, 'mine-1', 16, 'mine-1');
      expect(E.isLeft(refused) && refused.left).toMatchObject({
        code: 'CONFLICT',
        message: expect.stringMatching(/^key pool bb84 kept changing .*: another platform process is writing the same key pool/),
      });
    } finally {
      await p.close();
      await other.close();
    }
  });
});
