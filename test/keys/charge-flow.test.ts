import * as E from 'fp-ts/Either';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { deliverChargeKeys } from '../../application/charge/deliver-keys';
import { CommandBus } from '../../application/command-bus';
import { followKeyCustody } from '../../application/keypool/key-custody';
import { KeyPool } from '../../application/keypool/key-pool';
import { EventStore } from '../../application/ports/event-store';
import { commandRoutes } from '../../application/routes';
import { chargeAggregate, initialChargeState } from '../../domain/charge';
import { keyPoolAggregate } from '../../domain/keypool';
import { startViews } from '../api/support/views';
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

/** Fills the pool of `p` with one block of 4096 bytes. */
const filled = async (p: ReturnType<typeof open>) =>
  expect(E.isRight(await p.pool.ingest(SYSTEM, SOURCE, { blockId: 'block-1', key: randomBytes(4096), qber: 0.02 }))).toBe(true);

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

describe('a kiosk refused while its delivery waited', () => {
  it('gets no key: checked again in the delivery\'s turn, the refusal destroys the reserved range and records no delivery', async () => {
    const p = open('refused-in-turn');
    try {
      await filled(p);
      const { chargeId } = await verifiedCharge(p, 1, 64);
      let checks = 0;
      // Admitted when the reservation's turn comes, refused when the delivery's does (revoked meanwhile).
      const admit = async () => {
        if (++checks > 1) throw new Error('charger kiosk-1 is revoked');
      };
      await expect(deliverChargeKeys(p.bus, p.pool, SYSTEM, chargeId, 64, 32, 'r-refused', admit)).rejects.toThrow('charger kiosk-1 is revoked');
      const pool = await p.pool.state(SOURCE);
      expect(E.isRight(pool) && pool.right.state.ranges.get('r-refused')?.status).toBe('DESTROYED');
      const charge = await p.bus.load(chargeAggregate, chargeId);
      expect(E.isRight(charge) && charge.right.state).toMatchObject({ status: 'DEVICE_VERIFIED', delivered: 0 });
    } finally {
      await p.close();
    }
  });
});

describe('one platform process', () => {
  it("a pool command overtaken by another command of the same process keeps the bus's words, which say what changed", async () => {
    const p = open('overtaken');
    try {
      await filled(p);
      expect(E.isRight(await p.pool.take(SYSTEM, SOURCE, 'r-1', 16, 'charge-900'))).toBe(true);
      // A console's destroyKeyRange goes to the bus itself, ahead of the pool's issue in the stream's turn.
      const [destroyed, issued] = await Promise.all([
        p.bus.execute({ commandId: 'destroy-r-1', actor: SYSTEM }, { type: 'DestroyKeyRange', data: { sourceId: SOURCE, rangeId: 'r-1', reason: 'operator' } }),
        p.pool.issue(SYSTEM, SOURCE, 'r-1', 'UKEY-FLOW-900'),
      ]);
      expect(E.isRight(destroyed)).toBe(true);
      expect(E.isLeft(issued) && issued.left).toMatchObject({
        code: 'CONFLICT',
        message: expect.stringMatching(/changed while this command was decided .* and the command no longer applies: /),
        details: { refusal: 'INVALID_STATE' },
      });
    } finally {
      await p.close();
    }
  });
});

/**
 * Two processes over the files of `name`, the other with a filled pool: for this one's first
 * `races` appends to the pool, the other has just reserved a range of it.
 */
const racedBy = async (name: string, races: number) => {
  const other = open(name);
  await filled(other);
  let taken = 0;
  const p = open(name, (store) =>
    Object.assign(Object.create(store) as EventStore, {
      append: async (...args: Parameters<EventStore['append']>) => {
        if (args[0] === `keypool-${SOURCE}` && taken < races) await other.pool.take(SYSTEM, SOURCE, `other-${++taken}`, 16, `other-${taken}`);
        return store.append(...args);
      },
    }),
  );
  return { other, p, taken: () => taken };
};

describe('two platform processes on one log', () => {
  it("a server starting beside another destroys only reservations older than its cut-off, never a delivery under way", async () => {
    const first = open('beside');
    try {
      await filled(first);
      expect(E.isRight(await first.pool.take(SYSTEM, SOURCE, 'stranded', 16, 'charge-1'))).toBe(true);
      const cutOff = new Date(Date.now() + 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(E.isRight(await first.pool.take(SYSTEM, SOURCE, 'under-way', 16, 'charge-2'))).toBe(true);
      const second = open('beside');
      try {
        const recovered = await second.pool.recover(SYSTEM, SOURCE, cutOff);
        expect(E.isRight(recovered) && recovered.right).toEqual(['stranded']);
        const pool = await second.pool.state(SOURCE);
        const status = (rangeId: string) => (E.isRight(pool) ? pool.right.state.ranges.get(rangeId)?.status : undefined);
        expect([status('stranded'), status('under-way')]).toEqual(['DESTROYED', 'RESERVED']);
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  });

  it('a reservation that loses a round of races to the other process tries again later, and gets its range', async () => {
    // For the bus's first 5 attempts, the other process has just reserved a range each time.
    const { other, p, taken } = await racedBy('one-busy-round', 5);
    try {
      const mine = await p.pool.take(SYSTEM, SOURCE, 'mine-1', 16, 'mine-1');
      expect(E.isRight(mine)).toBe(true);
      expect(taken()).toBe(5);
    } finally {
      await p.close();
      await other.close();
    }
  });

  it('a reservation that loses every race to the other process says so, not that a console is acting', async () => {
    // Each time this process appends to the pool, the other has just reserved a range of it.
    const { other, p } = await racedBy('two-processes', Infinity);
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

/** The store as a follower sees it, and a way to wait until the follower has handled the whole log. */
const followed = (store: EventStore) => {
  let handled = 0;
  let waiting: (() => void)[] = [];
  const view: EventStore = Object.assign(Object.create(store) as EventStore, {
    subscribe: (options: Parameters<EventStore['subscribe']>[0]) =>
      store.subscribe({
        ...options,
        onEvent: async (event) => {
          await options.onEvent(event);
          handled = event.position;
          for (const wake of waiting) wake();
          waiting = [];
        },
      }),
  });
  const head = async () => (await store.readAll()).at(-1)!.position;
  /** Until the follower has handled every event, those it appended itself included. */
  const settled = async (): Promise<void> => {
    for (let at = await head(); ; at = await head()) {
      while (handled < at) await new Promise<void>((wake) => waiting.push(wake));
      if ((await head()) === at) return;
    }
  };
  return { view, settled };
};

describe('a platform killed in the middle of chargeKeys', () => {
  // chargeKeys appends four times: the reservation, the delivery, the device's key IDs, the issue.
  it.each([1, 2, 3, 4])('killed after %i of its appends, then restarted: the charge, the pool and the balances agree', async (appends) => {
    let left = Infinity;
    const before = open(`killed-${appends}`, (store) =>
      Object.assign(Object.create(store) as EventStore, {
        append: (...args: Parameters<EventStore['append']>) => {
          if (left-- <= 0) throw new Error('the process was killed');
          return store.append(...args);
        },
      }),
    );
    expect(E.isRight(await before.pool.ingest(SYSTEM, SOURCE, { blockId: 'block-1', key: randomBytes(1024), qber: 0.02 }))).toBe(true);
    const { serial, chargerId, chargeId } = await verifiedCharge(before, appends, 64);
    const kiosk = { id: chargerId, role: 'CHARGER' } as const;
    left = appends;
    // Killed before its answer left the platform (after all four, only the answer was lost).
    await deliverChargeKeys(before.bus, before.pool, kiosk, chargeId, 64, 32, 'r-killed').catch(() => undefined);
    await before.close();

    // Restarted as qkmp serve starts: the key custody follows the log, then the pool recovers.
    const after = open(`killed-${appends}`);
    const faults: Error[] = [];
    const log = followed(after.store);
    const custody = followKeyCustody(log.view, after.bus, after.pool, (fault) => faults.push(fault));
    const views = await startViews(after.store);
    try {
      expect(E.isRight(await after.pool.recover(SYSTEM, SOURCE))).toBe(true);
      await log.settled();

      // The kiosk tries again, then completes.
      const again = await deliverChargeKeys(after.bus, after.pool, kiosk, chargeId, 64, 32);
      const complete = { type: 'CompleteCharge', data: { chargeId, deviceAcknowledgement: 'a'.repeat(64) } };
      const completed = await after.bus.execute({ commandId: 'complete-1', actor: kiosk }, complete);
      await log.settled();

      const loaded = await after.bus.load(chargeAggregate, chargeId);
      const charge = E.isRight(loaded) ? loaded.right.state : initialChargeState;
      const pool = await after.bus.load(keyPoolAggregate, SOURCE);
      const killed = E.isRight(pool) ? pool.right.state.ranges.get('r-killed') : undefined;
      if (appends === 1 || appends === 4) {
        // Nothing counted the range (1: destroyed at the restart, the kiosk's retry delivers), or every
        // step was recorded (4: the platform cannot know the answer was lost; the kiosk fails or completes).
        expect(killed?.status).toBe(appends === 1 ? 'DESTROYED' : 'ISSUED');
        expect(E.isRight(completed) && completed.right.events.map((e) => e.type)).toEqual(['ChargeCompleted']);
        expect(charge).toMatchObject({ status: 'COMPLETED', delivered: 64 });
        if (appends === 4) {
          expect(E.isLeft(again) && again.left.message).toBe(
            `cannot deliver more keys to charge ${chargeId} while it is KEYS_DELIVERED; all 64 bytes it asked for are ` +
              'delivered; complete it once the device has stored them, or fail it if it has not',
          );
        } else expect(E.isRight(again)).toBe(true);
      } else {
        // The charge counted a range that never reached the kiosk: destroyed at the restart, it fails the charge.
        expect(killed?.status).toBe('DESTROYED');
        expect(charge).toMatchObject({ status: 'FAILED', reason: 'DELIVERED_KEY_DESTROYED' });
        expect(E.isLeft(again) && again.left).toMatchObject({ code: 'INVALID_STATE', message: expect.stringMatching(/start a new charge$/) });
        expect(E.isLeft(completed) && completed.left.code).toBe('INVALID_STATE');
      }
      expect(E.isRight(pool) && pool.right.state.balance.reserved).toBe(0);

      // The device holds, and the charger charged, the same bytes: those of a completed charge.
      expect(await views.readModels.waitFor(await after.store.readAll().then((all) => all.at(-1)!.position), 10_000)).toBe(true);
      const charged = charge.status === 'COMPLETED' ? 64 : 0;
      expect((await views.readModels.deviceBalance(serial))?.charged).toBe(charged);
      expect((await views.readModels.charger(chargerId))?.bytesCharged).toBe(charged);
      expect(faults).toEqual([]);
    } finally {
      await custody.close();
      await views.close();
      await after.close();
    }
  });
});
