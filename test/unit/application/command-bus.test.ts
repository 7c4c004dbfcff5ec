import * as E from 'fp-ts/Either';
import { CommandBus, CommandResult } from '../../../application/command-bus';
import { CommandError } from '../../../application/errors';
import { EventStore, StoreUnavailableError } from '../../../application/ports/event-store';
import { deviceAggregate } from '../../../domain/device';
import { chargerAggregate } from '../../../domain/charger';
import { InMemoryEventStore } from '../../../infrastructure/event-store/memory';

const FINGERPRINT = 'a'.repeat(64);
const admin = { id: 'alice', role: 'SECURITY_ADMIN' };
const userAdmin = { id: 'bob', role: 'USER_ADMIN' };
const at = new Date('2026-11-25T10:00:00.000Z');
let n = 0;
const envelope = (actor = admin, extra: object = {}) => ({ commandId: `cmd-${++n}-${Date.now()}`, actor, ...extra });

const initialize = (serial: string) => ({
  type: 'InitializeDevice',
  data: { serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: FINGERPRINT },
});

const ok = (result: E.Either<CommandError, CommandResult>): CommandResult => {
  if (E.isLeft(result)) throw new Error(`expected success, got ${JSON.stringify(result.left)}`);
  return result.right;
};
const error = (result: E.Either<CommandError, CommandResult>): CommandError => {
  if (E.isRight(result)) throw new Error(`expected an error, got ${JSON.stringify(result.right)}`);
  return result.left;
};

describe('the command bus', () => {
  let store: InMemoryEventStore;
  let bus: CommandBus;
  beforeEach(() => {
    store = new InMemoryEventStore();
    bus = new CommandBus(store, [{ aggregate: deviceAggregate }, { aggregate: chargerAggregate }], { clock: () => at });
  });
  afterEach(() => store.close());

  describe('given no events, when a device is initialized', () => {
    it('then appends DeviceInitialized with the full metadata and reports revision and position', async () => {
      const env = envelope(admin, { correlationId: 'console-session-1' });
      const result = ok(await bus.execute(env, initialize('UKEY-000001')));
      expect(result).toMatchObject({ streamId: 'device-UKEY-000001', revision: 0, position: 1, replayed: false });
      const [stored] = await store.readStream('device-UKEY-000001');
      expect(stored.type).toBe('DeviceInitialized');
      expect(stored.metadata).toEqual({
        actorId: 'alice',
        actorRole: 'SECURITY_ADMIN',
        commandId: env.commandId,
        commandType: 'InitializeDevice',
        correlationId: 'console-session-1',
        causationId: env.commandId,
        occurredAt: '2026-11-25T10:00:00.000Z',
      });
    });
  });

  describe('idempotency by command id', () => {
    it('appends once when the same command is sent twice, and answers the same both times', async () => {
      const env = envelope();
      const first = ok(await bus.execute(env, initialize('UKEY-000002')));
      const second = ok(await bus.execute(env, initialize('UKEY-000002')));
      expect(second).toEqual({ ...first, replayed: true });
      expect(await store.readStream('device-UKEY-000002')).toHaveLength(1);
    });

    it('still answers a repeated command after later commands moved the stream on', async () => {
      const env = envelope();
      const first = ok(await bus.execute(env, initialize('UKEY-000003')));
      ok(await bus.execute(envelope(userAdmin), { type: 'DistributeDevice', data: { serial: 'UKEY-000003', organisation: 'grid-east' } }));
      expect(ok(await bus.execute(env, initialize('UKEY-000003')))).toEqual({ ...first, replayed: true });
      expect(await store.readStream('device-UKEY-000003')).toHaveLength(2);
    });

    it('refuses a command id reused for another kind of command, and writes nothing', async () => {
      const env = envelope();
      ok(await bus.execute(env, initialize('UKEY-000004')));
      const refused = error(await bus.execute(env, { type: 'FreezeDevice', data: { serial: 'UKEY-000004', reason: 'x' } }));
      expect(refused).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
      expect(refused.message).toMatch(/already used for InitializeDevice, so it cannot also name FreezeDevice; send each new command with a new id/);
      expect(await store.readStream('device-UKEY-000004')).toHaveLength(1);
    });

    it('refuses a command resent with the same id but other arguments, and writes nothing', async () => {
      const env = envelope();
      ok(await bus.execute(env, initialize('UKEY-000018')));
      const changed = { ...initialize('UKEY-000018'), data: { ...initialize('UKEY-000018').data, kind: 'SD_CARD' } };
      const refused = error(await bus.execute(env, changed));
      expect(refused).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { type: 'InitializeDevice with a different kind' } });
      expect(refused.message).toMatch(/already used for InitializeDevice, so it cannot also name InitializeDevice with a different kind; send each new command with a new id/);
      expect(await store.readStream('device-UKEY-000018')).toHaveLength(1);
    });

    it('refuses a resent authentication failure with another reason, which decides the outcome (a PIN lock)', async () => {
      ok(await bus.execute(envelope(), initialize('UKEY-000019')));
      const env = envelope();
      const failure = (reason: string) => ({
        type: 'RecordDeviceAuthenticationFailure',
        data: { serial: 'UKEY-000019', chargerId: 'kiosk-1', chargeId: 'charge-1', reason },
      });
      const first = await bus.execute(env, failure('BAD_PIN'));
      const again = await bus.execute(env, failure('BAD_PROOF'));
      expect(E.isRight(first) ? 'ok' : first.left.message).toBe('ok');
      expect(E.isLeft(again) && again.left).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { type: 'RecordDeviceAuthenticationFailure with a different reason' } });
    });

    it('refuses a command id reused for the same kind of command on another device', async () => {
      const env = envelope();
      ok(await bus.execute(env, initialize('UKEY-000014')));
      const refused = error(await bus.execute(env, initialize('UKEY-000015')));
      expect(refused.code).toBe('IDEMPOTENCY_KEY_REUSED');
      expect(refused.message).toMatch(
        /already used for InitializeDevice on device-UKEY-000014, so it cannot also name InitializeDevice on device-UKEY-000015; send each new command with a new id/,
      );
      expect(await store.readStream('device-UKEY-000015')).toEqual([]);
    });

    it('names the earlier command and its device when an id is reused for another kind of command on another device', async () => {
      const env = envelope();
      ok(await bus.execute(env, initialize('UKEY-000016')));
      ok(await bus.execute(envelope(), initialize('UKEY-000017')));
      const distribute = { type: 'DistributeDevice', data: { serial: 'UKEY-000017', organisation: 'grid-east' } };
      const reads = jest.spyOn(store, 'readStream');
      const refused = error(await bus.execute(env, distribute));
      // The earlier command is named from its one event, not from its whole stream.
      expect(reads).toHaveBeenCalledWith('device-UKEY-000016', { fromRevision: 0, maxCount: 1 });
      reads.mockRestore();
      expect(refused).toMatchObject({
        code: 'IDEMPOTENCY_KEY_REUSED',
        details: { usedBy: 'InitializeDevice on device-UKEY-000016', type: 'DistributeDevice on device-UKEY-000017' },
      });
      expect(await store.readStream('device-UKEY-000017')).toHaveLength(1);
    });

    it("tells another principal who reuses an id nothing of the earlier command: not its type, target, arguments or receipt", async () => {
      const env = envelope();
      ok(await bus.execute(env, initialize('UKEY-000018')));
      ok(await bus.execute(envelope(userAdmin), { type: 'DistributeDevice', data: { serial: 'UKEY-000018', organisation: 'grid-east' } }));
      const bob = { ...env, actor: userAdmin };
      const sameStream = error(await bus.execute(bob, { type: 'BindDevice', data: { serial: 'UKEY-000018', userId: 'u-b' } }));
      const sameCommand = error(await bus.execute(bob, initialize('UKEY-000018')));
      ok(await bus.execute(envelope(), initialize('UKEY-000019')));
      const otherStream = error(await bus.execute(bob, { type: 'DistributeDevice', data: { serial: 'UKEY-000019', organisation: 'grid-east' } }));
      for (const refused of [sameStream, sameCommand, otherStream]) {
        expect(refused).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { usedBy: "another principal's command" } });
        expect(JSON.stringify(refused)).not.toMatch(/InitializeDevice on|UKEY-000018|credentialFingerprint/);
      }
    });

    it("shares an id between the platform's own tools and a principal: whichever comes second gets the receipt", async () => {
      ok(await bus.execute(envelope(), initialize('UKEY-000020')));
      const distribute = { type: 'DistributeDevice', data: { serial: 'UKEY-000020', organisation: 'grid-east' } };
      const env = envelope(userAdmin);
      expect(ok(await bus.execute(env, distribute)).replayed).toBe(false);
      // Key custody sends the id a kiosk or a gateway may have sent first (destroy-<range>), and the other way round.
      expect(ok(await bus.execute({ ...env, actor: { id: 'key-custody', role: 'SYSTEM' } }, distribute)).replayed).toBe(true);
      const bind = { type: 'BindDevice', data: { serial: 'UKEY-000020', userId: 'u-1' } };
      const system = envelope({ id: 'key-custody', role: 'SYSTEM' });
      ok(await bus.execute(system, bind));
      expect(ok(await bus.execute({ ...system, actor: userAdmin }, bind)).replayed).toBe(true);
    });
  });

  describe('bad input changes nothing', () => {
    it.each([
      ['a missing actor', { commandId: 'cmd-00000001' }, 'actor'],
      ['a short command id', { commandId: 'x', actor: admin }, 'commandId'],
      ['an unknown role', { commandId: 'cmd-00000002', actor: { id: 'eve', role: 'ROOT' } }, 'actor.role'],
    ])('%s names the field', async (_label, env, field) => {
      const refused = error(await bus.execute(env, initialize('UKEY-000005')));
      expect(refused.code).toBe('INVALID_INPUT');
      expect(refused.issues?.map((i) => i.field)).toContain(field);
      expect(await store.readAll()).toEqual([]);
    });

    it('text that might carry a bearer token is refused in every field that holds it, and never recorded', async () => {
      ok(await bus.execute(envelope(), initialize('UKEY-000006')));
      const before = await store.readAll();
      const pasted = `pasted by mistake qkmp_${'A'.repeat(43)}`;
      const refused = error(
        await bus.execute(envelope(), { type: 'DistributeDevice', data: { serial: 'UKEY-000006', organisation: 'QKMP_grid' } }),
      );
      expect(refused).toMatchObject({ code: 'INVALID_INPUT', issues: [{ field: 'organisation', rule: expect.stringMatching(/^must not hold a bearer token/) }] });
      const freeze = error(await bus.execute(envelope(), { type: 'FreezeDevice', data: { serial: 'UKEY-000006', reason: pasted } }));
      expect(freeze.issues?.map((i) => i.field)).toEqual(['reason']);
      expect(JSON.stringify(freeze)).not.toContain(pasted);
      expect(await store.readAll()).toEqual(before);
      const asId = error(await bus.execute({ ...envelope(), commandId: pasted.slice(-48) }, { type: 'FreezeDevice', data: { serial: 'UKEY-000006', reason: 'audit' } }));
      expect(asId.issues?.map((i) => i.field)).toEqual(['commandId']);
      expect(await store.readAll()).toEqual(before);
    });

    it('an unknown command type lists the known ones', async () => {
      const refused = error(await bus.execute(envelope(), { type: 'LaunchMissiles', data: {} }));
      expect(refused.issues).toEqual([{ field: 'type', rule: expect.stringContaining('InitializeDevice') }]);
    });

    it('a malformed command names the field and the rule', async () => {
      const refused = error(await bus.execute(envelope(), { type: 'BindDevice', data: { serial: 'UKEY-000006', userId: '' } }));
      expect(refused.issues).toEqual([{ field: 'data.userId', rule: expect.stringMatching(/^must be an identifier/) }]);
    });

    it('an unknown device is NOT_FOUND and the state a command forbids is INVALID_STATE', async () => {
      expect(error(await bus.execute(envelope(userAdmin), { type: 'BindDevice', data: { serial: 'UKEY-404404', userId: 'u1' } })).code).toBe('NOT_FOUND');
      ok(await bus.execute(envelope(), initialize('UKEY-000007')));
      const refused = error(await bus.execute(envelope(), { type: 'RestoreDevice', data: { serial: 'UKEY-000007' } }));
      expect(refused.code).toBe('INVALID_STATE');
      expect(await store.readStream('device-UKEY-000007')).toHaveLength(1);
    });
  });

  describe('two consoles acting on one device at once', () => {
    it('one freeze wins; the others are decided again on the new state and get CONFLICT with it, never appended twice', async () => {
      ok(await bus.execute(envelope(), initialize('UKEY-000008')));
      ok(await bus.execute(envelope(userAdmin), { type: 'DistributeDevice', data: { serial: 'UKEY-000008', organisation: 'grid' } }));
      ok(await bus.execute(envelope(userAdmin), { type: 'BindDevice', data: { serial: 'UKEY-000008', userId: 'u1' } }));
      const freeze = () => bus.execute(envelope(userAdmin), { type: 'FreezeDevice', data: { serial: 'UKEY-000008', reason: 'audit' } });
      const results = await Promise.all([freeze(), freeze(), freeze(), freeze()]);
      expect(results.filter(E.isRight)).toHaveLength(1);
      const losers = results.filter(E.isLeft).map((r) => r.left);
      expect(losers).toHaveLength(3);
      for (const refused of losers) {
        expect(refused).toMatchObject({
          code: 'CONFLICT',
          details: { streamId: 'device-UKEY-000008', revision: 3, refusal: 'INVALID_STATE' },
          currentState: { status: 'FROZEN' },
        });
        expect(refused.message).toMatch(/^device-UKEY-000008 changed while this command was decided .* no longer applies: .*FROZEN/);
      }
      const types = (await store.readStream('device-UKEY-000008')).map((e) => e.type);
      expect(types.filter((t) => t === 'DeviceFrozen')).toHaveLength(1);
      // A console that sends the freeze after the winner's is simply refused by the state it finds.
      expect(error(await freeze()).code).toBe('INVALID_STATE');
    });

    it('an unknown device is NOT_FOUND even when the console names a revision', async () => {
      const refused = error(
        await bus.execute(envelope(userAdmin, { expectedRevision: 0 }), { type: 'RestoreDevice', data: { serial: 'UKEY-404405' } }),
      );
      expect(refused.code).toBe('NOT_FOUND');
      expect(await store.readStream('device-UKEY-404405')).toEqual([]);
    });

    it('a console that saw an older revision gets CONFLICT with the current state, and nothing is written', async () => {
      ok(await bus.execute(envelope(), initialize('UKEY-000013')));
      ok(await bus.execute(envelope(userAdmin), { type: 'DistributeDevice', data: { serial: 'UKEY-000013', organisation: 'grid' } }));
      // The second console still shows revision 0 (INITIALIZED) and tries to distribute it elsewhere.
      const refused = error(
        await bus.execute(envelope(userAdmin, { expectedRevision: 0 }), { type: 'DistributeDevice', data: { serial: 'UKEY-000013', organisation: 'other' } }),
      );
      expect(refused).toMatchObject({
        code: 'CONFLICT',
        details: { streamId: 'device-UKEY-000013', expectedRevision: 0, revision: 1 },
        currentState: { status: 'DISTRIBUTED', organisation: 'grid' },
      });
      expect(refused.message).toMatch(/review its current state/);
      expect(await store.readStream('device-UKEY-000013')).toHaveLength(2);
      // With the revision it now shows, the same console's next command goes through.
      ok(await bus.execute(envelope(userAdmin, { expectedRevision: 1 }), { type: 'BindDevice', data: { serial: 'UKEY-000013', userId: 'u7' } }));
    });

    it('reports CONFLICT with the current revision once the retries are used up', async () => {
      ok(await bus.execute(envelope(), initialize('UKEY-000009')));
      // A store whose stream moves under every append: another console always gets there first.
      const busy: EventStore = Object.create(store);
      let rival = 0;
      busy.append = async (streamId, events) => {
        const commandId = `rival-${++rival}-cmd`;
        await store.append(streamId, [{ ...events[0], type: 'DeviceAuthenticationFailed', data: { serial: 'UKEY-000009', chargerId: 'kiosk-1', reason: 'BAD_PROOF', consecutiveFailures: rival }, id: `00000000-0000-4000-8000-${String(rival).padStart(12, '0')}`, metadata: { ...events[0].metadata, commandId } }], 'any');
        return store.append(streamId, events, 0);
      };
      const racing = new CommandBus(busy, [{ aggregate: deviceAggregate }], { maxAttempts: 3 });
      const refused = error(await racing.execute(envelope(), { type: 'DestroyDevice', data: { serial: 'UKEY-000009', reason: 'end' } }));
      expect(refused).toMatchObject({ code: 'CONFLICT', currentState: { status: 'INITIALIZED', consecutiveFailures: 3 } });
      expect(refused.message).toMatch(/device-UKEY-000009 kept changing .*3 attempts, now at revision 3.*reload/);
      // Only the rivals' events landed: three of them, none of ours.
      const stored = await store.readStream('device-UKEY-000009');
      expect(stored.filter((e) => e.metadata.commandId.startsWith('rival-'))).toHaveLength(3);
      expect(stored).toHaveLength(4);
    });
  });

  describe('faults', () => {
    it('a store that is down gives STORE_UNAVAILABLE and says what to do', async () => {
      const down: EventStore = Object.create(store);
      down.readStream = async () => {
        throw new StoreUnavailableError('test', new Error('ECONNREFUSED'));
      };
      const refused = error(await new CommandBus(down, [{ aggregate: deviceAggregate }]).execute(envelope(), initialize('UKEY-000010')));
      expect(refused.code).toBe('STORE_UNAVAILABLE');
      expect(refused.message).toMatch(/check that it is running/);
      expect(refused.message).not.toMatch(/ECONNREFUSED/);
    });

    it('an event of a type this version does not know is a clear error naming the stream, not a crash', async () => {
      await store.append('device-UKEY-000011', [{ id: '00000000-0000-4000-8000-000000000001', type: 'DeviceTeleported', data: {}, metadata: { actorId: 'x', actorRole: 'SYSTEM', commandId: 'c', commandType: 'c', correlationId: 'c', causationId: 'c', occurredAt: at.toISOString() } }], 'no_stream');
      const refused = error(await bus.execute(envelope(), { type: 'FreezeDevice', data: { serial: 'UKEY-000011', reason: 'x' } }));
      expect(refused).toMatchObject({ code: 'UNKNOWN_EVENT_TYPE', details: { streamId: 'device-UKEY-000011', revision: 0, type: 'DeviceTeleported' } });
    });

    it('an event whose data no longer fits its schema is MALFORMED_EVENT', async () => {
      await store.append('device-UKEY-000012', [{ id: '00000000-0000-4000-8000-000000000002', type: 'DeviceInitialized', data: { serial: 'UKEY-000012' }, metadata: { actorId: 'x', actorRole: 'SYSTEM', commandId: 'c', commandType: 'c', correlationId: 'c', causationId: 'c', occurredAt: at.toISOString() } }], 'no_stream');
      expect(error(await bus.execute(envelope(), { type: 'DestroyDevice', data: { serial: 'UKEY-000012', reason: 'x' } })).code).toBe('MALFORMED_EVENT');
    });
  });

  it('refuses to route one command type twice', () => {
    expect(() => new CommandBus(store, [{ aggregate: deviceAggregate }, { aggregate: deviceAggregate }])).toThrow(/InitializeDevice is routed twice/);
  });
});

describe('the command bus decides the commands on one stream one after another', () => {
  const routes = [{ aggregate: deviceAggregate }];
  const failure = (serial: string) => ({
    type: 'RecordDeviceAuthenticationFailure',
    data: { serial, chargerId: 'kiosk-1', chargeId: 'charge-1', reason: 'BAD_PROOF' },
  });
  const bind = (serial: string, userId: string) => ({ type: 'BindDevice', data: { serial, userId } });
  let store: InMemoryEventStore;
  beforeEach(() => {
    store = new InMemoryEventStore();
  });
  afterEach(() => store.close());
  const distributed = async (bus: CommandBus, serial: string) => {
    ok(await bus.execute(envelope(), initialize(serial)));
    ok(await bus.execute(envelope(userAdmin), { type: 'DistributeDevice', data: { serial, organisation: 'grid' } }));
  };

  it('counts every one of a burst of failures on the one before, with no retry needed', async () => {
    // One attempt each: had two been decided on one state, the second would be CONFLICT.
    const bus = new CommandBus(store, routes, { maxAttempts: 1 });
    ok(await bus.execute(envelope(), initialize('UKEY-LANE-1')));
    const results = await Promise.all(Array.from({ length: 8 }, () => bus.execute(envelope(), failure('UKEY-LANE-1'))));
    const counted = results.map((r) => (ok(r).events[0].data as { consecutiveFailures: number }).consecutiveFailures);
    expect(counted.sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('refuses the second of one command id sent twice at once with another user, naming the field', async () => {
    const bus = new CommandBus(store, routes);
    await distributed(bus, 'UKEY-LANE-2');
    const env = envelope(userAdmin);
    const [first, second] = await Promise.all([bus.execute(env, bind('UKEY-LANE-2', 'u-a')), bus.execute(env, bind('UKEY-LANE-2', 'u-b'))]);
    expect(ok(first).replayed).toBe(false);
    expect(error(second)).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { type: 'BindDevice with a different userId' } });
    expect((await store.readStream('device-UKEY-LANE-2')).map((e) => e.data)).toContainEqual({ serial: 'UKEY-LANE-2', userId: 'u-a' });
    expect(await store.readStream('device-UKEY-LANE-2')).toHaveLength(3);
  });

  it('refuses the second of one command id sent at once for another kind of command', async () => {
    const bus = new CommandBus(store, routes);
    await distributed(bus, 'UKEY-LANE-3');
    ok(await bus.execute(envelope(userAdmin), bind('UKEY-LANE-3', 'u-a')));
    const env = envelope(userAdmin);
    const [lost, frozen] = await Promise.all([
      bus.execute(env, { type: 'ReportDeviceLost', data: { serial: 'UKEY-LANE-3', reason: 'lost' } }),
      bus.execute(env, { type: 'FreezeDevice', data: { serial: 'UKEY-LANE-3', reason: 'audit' } }),
    ]);
    ok(lost);
    expect(error(frozen)).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { usedBy: 'ReportDeviceLost', type: 'FreezeDevice' } });
    expect(await store.readStream('device-UKEY-LANE-3')).toHaveLength(4);
  });

  it('answers the second of one command sent twice at once with the first receipt, replayed', async () => {
    const bus = new CommandBus(store, routes);
    await distributed(bus, 'UKEY-LANE-4');
    const env = envelope(userAdmin);
    const [first, second] = await Promise.all([bus.execute(env, bind('UKEY-LANE-4', 'u-a')), bus.execute(env, bind('UKEY-LANE-4', 'u-a'))]);
    expect(ok(second)).toEqual({ ...ok(first), replayed: true });
  });

  it('refuses a command queued behind one that wrote nothing as the state says, not as a conflict', async () => {
    const bus = new CommandBus(store, routes);
    ok(await bus.execute(envelope(), initialize('UKEY-LANE-5')));
    const restore = () => bus.execute(envelope(userAdmin), { type: 'RestoreDevice', data: { serial: 'UKEY-LANE-5' } });
    const refusals = (await Promise.all([restore(), restore()])).map((r) => error(r).code);
    expect(refusals).toEqual(['INVALID_STATE', 'INVALID_STATE']);
  });

  it("keeps streams concurrent: one device's append may wait for another device's", async () => {
    // Appends to UKEY-LANE-6 are held until one to UKEY-LANE-7 is asked for: a bus that queued
    // every stream behind one another would never get there.
    let release!: () => void;
    const other = new Promise<void>((resolve) => (release = resolve));
    const held: EventStore = Object.assign(Object.create(store) as EventStore, {
      append: async (...args: Parameters<EventStore['append']>) => {
        if (args[0] === 'device-UKEY-LANE-7') release();
        else await other;
        return store.append(...args);
      },
    });
    const bus = new CommandBus(held, routes);
    const results = await Promise.all([bus.execute(envelope(), initialize('UKEY-LANE-6')), bus.execute(envelope(), initialize('UKEY-LANE-7'))]);
    results.forEach(ok);
  });

  it("checks a command's admission again in its turn: one refused by then is never decided or appended", async () => {
    let release!: () => void;
    const held: EventStore = Object.assign(Object.create(store) as EventStore, {
      append: async (...args: Parameters<EventStore['append']>) => {
        if (args[0] === 'device-UKEY-LANE-10' && release === undefined) await new Promise<void>((resolve) => (release = resolve));
        return store.append(...args);
      },
    });
    const bus = new CommandBus(held, routes);
    ok(await new CommandBus(store, routes).execute(envelope(), initialize('UKEY-LANE-10')));
    let revoked = false;
    const admit = async () => {
      if (revoked) throw new Error('the sender was revoked while its command waited');
    };
    const first = bus.execute(envelope(), failure('UKEY-LANE-10'), admit);
    const second = bus.execute(envelope(), failure('UKEY-LANE-10'), admit);
    await new Promise((resolve) => setImmediate(resolve));
    revoked = true; // after both were let in, before the second's turn
    release();
    ok(await first);
    await expect(second).rejects.toThrow('the sender was revoked while its command waited');
    expect(await store.readStream('device-UKEY-LANE-10')).toHaveLength(2);
  });

  /** The store as two processes' buses see it: the first append waits for the second, so both decide on one state. */
  const meetingAtAppend = (store: EventStore): EventStore => {
    let arrived = 0;
    let releaseFirst!: () => void;
    return Object.assign(Object.create(store) as EventStore, {
      append: async (...args: Parameters<EventStore['append']>) => {
        if (++arrived === 1) await new Promise<void>((resolve) => (releaseFirst = resolve));
        else releaseFirst();
        return store.append(...args);
      },
    });
  };

  it('answers one command id sent to two processes at once as a resend: the other arguments are refused, naming the field', async () => {
    const setup = new CommandBus(store, routes);
    await distributed(setup, 'UKEY-LANE-9');
    // Both buses decide on the DISTRIBUTED device before either appends.
    const held = meetingAtAppend(store);
    const env = envelope(userAdmin);
    const results = await Promise.all(
      ['u-a', 'u-b'].map((userId) => new CommandBus(held, routes).execute(env, bind('UKEY-LANE-9', userId))),
    );
    const stored = (await store.readStream('device-UKEY-LANE-9')).map((e) => e.data as { userId?: string });
    expect(stored).toHaveLength(3);
    const winner = results.findIndex(E.isRight);
    expect(ok(results[winner]).events[0].data).toEqual(expect.objectContaining({ userId: stored[2].userId }));
    expect(error(results[1 - winner])).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', details: { type: 'BindDevice with a different userId' } });
  });

  it('still decides again when another process wrote first; refused by the new state, the command is CONFLICT with it', async () => {
    const setup = new CommandBus(store, routes);
    await distributed(setup, 'UKEY-LANE-8');
    ok(await setup.execute(envelope(userAdmin), bind('UKEY-LANE-8', 'u-a')));
    // Both buses decide on the ACTIVE device.
    const held = meetingAtAppend(store);
    const freeze = (bus: CommandBus) => bus.execute(envelope(userAdmin), { type: 'FreezeDevice', data: { serial: 'UKEY-LANE-8', reason: 'audit' } });
    const results = await Promise.all([freeze(new CommandBus(held, routes)), freeze(new CommandBus(held, routes))]);
    expect(results.filter(E.isRight)).toHaveLength(1);
    expect(results.filter(E.isLeft).map((r) => r.left)).toEqual([
      expect.objectContaining({ code: 'CONFLICT', details: expect.objectContaining({ refusal: 'INVALID_STATE' }), currentState: expect.objectContaining({ status: 'FROZEN' }) }),
    ]);
  });

  describe('telling a race a command lost from a state its sender could see', () => {
    const freeze = (serial: string) => ({ type: 'FreezeDevice', data: { serial, reason: 'audit' } });
    const restore = (serial: string) => ({ type: 'RestoreDevice', data: { serial } });
    /** An ACTIVE device: binding it is the bus's last write before the caller marks a sending. */
    const active = async (bus: CommandBus, serial: string) => {
      await distributed(bus, serial);
      ok(await bus.execute(envelope(userAdmin), bind(serial, 'u-1')));
    };
    const codeOf = async (result: Promise<E.Either<CommandError, CommandResult>>) => error(await result).code;

    it('gives CONFLICT to a freeze sent on the active device that another freeze beat, and INVALID_STATE to one sent after', async () => {
      const bus = new CommandBus(store, routes);
      await active(bus, 'UKEY-RACE-1');
      const sent = bus.sending();
      ok(await bus.execute(envelope(userAdmin), freeze('UKEY-RACE-1')));
      expect(await codeOf(bus.execute(envelope(userAdmin), freeze('UKEY-RACE-1'), undefined, sent))).toBe('CONFLICT');
      expect(await codeOf(bus.execute(envelope(userAdmin), freeze('UKEY-RACE-1')))).toBe('INVALID_STATE');
    });

    it("does not blame a sending's own write on the other sending's before it", async () => {
      const bus = new CommandBus(store, routes);
      await active(bus, 'UKEY-RACE-2');
      const sent = bus.sending();
      // Another sending's write that leaves the device active, then the sending's own freeze.
      ok(await bus.execute(envelope(), failure('UKEY-RACE-2')));
      ok(await bus.execute(envelope(userAdmin), freeze('UKEY-RACE-2'), undefined, sent));
      expect(await codeOf(bus.execute(envelope(userAdmin), freeze('UKEY-RACE-2'), undefined, sent))).toBe('INVALID_STATE');
    });

    it('calls it a race only while the writes since the sending are all kept (eight per stream)', async () => {
      const bus = new CommandBus(store, routes);
      const overtakenBy = async (serial: string, writes: number) => {
        await active(bus, serial);
        const sent = bus.sending();
        // Freeze and restore in turn, ending frozen.
        for (let i = 0; i < writes; i++) ok(await bus.execute(envelope(userAdmin), i % 2 === 0 ? freeze(serial) : restore(serial)));
        return codeOf(bus.execute(envelope(userAdmin), freeze(serial), undefined, sent));
      };
      expect(await overtakenBy('UKEY-RACE-3', 7)).toBe('CONFLICT');
      expect(await overtakenBy('UKEY-RACE-4', 9)).toBe('INVALID_STATE');
    });

    it('knows nothing of writes to a stream it stopped following, and calls no race on them', async () => {
      const bus = new CommandBus(store, routes, { cachedStreams: 1 });
      await active(bus, 'UKEY-RACE-5');
      const sent = bus.sending();
      ok(await bus.execute(envelope(userAdmin), freeze('UKEY-RACE-5')));
      // Another stream's write drops the device's writes from those followed.
      ok(await bus.execute(envelope(), initialize('UKEY-RACE-6')));
      ok(await bus.execute(envelope(userAdmin), restore('UKEY-RACE-5')));
      // Sent on the active device, a restore was refused then as it is now.
      expect(await codeOf(bus.execute(envelope(userAdmin), restore('UKEY-RACE-5'), undefined, sent))).toBe('INVALID_STATE');
    });
  });
});

describe('the command bus keeps folded states between commands', () => {
  const routes = [{ aggregate: deviceAggregate }];
  const distribute = (serial: string) => ({ type: 'DistributeDevice', data: { serial, organisation: 'grid-north' } });

  it('reads only the events after the cached state, and still sees what another process appended', async () => {
    const store = new InMemoryEventStore();
    const reads: (number | undefined)[] = [];
    const counting: EventStore = Object.assign(Object.create(store), {
      readStream: (id: string, options?: { fromRevision?: number }) => {
        reads.push(options?.fromRevision);
        return store.readStream(id, options);
      },
    });
    const here = new CommandBus(counting, routes);
    const elsewhere = new CommandBus(store, routes);
    ok(await here.execute(envelope(), initialize('UKEY-CACHE-1')));
    ok(await elsewhere.execute(envelope(userAdmin), distribute('UKEY-CACHE-1')));
    // Distributed elsewhere: this bus must not decide on its stale cached INITIALIZED state.
    expect(error(await here.execute(envelope(userAdmin), distribute('UKEY-CACHE-1'))).code).toBe('INVALID_STATE');
    const loaded = await here.load(deviceAggregate, 'UKEY-CACHE-1');
    expect(E.isRight(loaded) && loaded.right.revision).toBe(1);
    // A new stream is cached once it has events; the last load reads from revision 2 on.
    expect(reads).toEqual([0, 0, 2]);
    await store.close();
  });

  it('answers a repeated command id from the cache with the first answer, and forgets the least recently used stream', async () => {
    const store = new InMemoryEventStore();
    const bus = new CommandBus(store, routes, { cachedStreams: 1 });
    const first = envelope();
    const written = ok(await bus.execute(first, initialize('UKEY-CACHE-2')));
    ok(await bus.execute(envelope(), initialize('UKEY-CACHE-3')));
    const again = ok(await bus.execute(first, initialize('UKEY-CACHE-2')));
    expect(again).toEqual({ ...written, replayed: true });
    expect(await store.readStream('device-UKEY-CACHE-2')).toHaveLength(1);
    await store.close();
  });
});
