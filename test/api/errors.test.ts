import { randomUUID } from 'node:crypto';
import { CommandBus } from '../../application/command-bus';
import { conflict } from '../../application/errors';
import { commandFailure } from '../../api/errors';
import { EventStore, StoreUnavailableError } from '../../application/ports/event-store';
import { ViewsUnavailableError } from '../../application/ports/view-store';
import { MemoryViewStore } from '../../infrastructure/read-models/memory-view-store';
import { Projector } from '../../read-models/projector';
import { createReadModels } from '../../read-models/read-models';
import { FINGERPRINT, GOLDEN, mutationDocument } from './support/fixtures';
import { codeOf, expectNoInternals } from './support/expectations';
import { Platform, routes } from './support/platform';

const FREEZE = mutationDocument('FreezeDevice');
const LOST = mutationDocument('ReportDeviceLost');

describe('errors a console can act on', () => {
  let p: Platform;
  let storeDown = false;
  /** While set, appends wait until that many commands have reached the API's bus: all of them came before the first write. */
  let gate: { awaited: number; open: () => void; opened: Promise<void> } | undefined;
  const holdAppendsUntilArrived = (awaited: number) => {
    let open!: () => void;
    gate = { awaited, open: () => open(), opened: new Promise((resolve) => (open = resolve)) };
  };
  /**
   * While set, the first command to reach the bus is written only once a second has reached it, and
   * the second goes on only once the first is done: the second's request came before the write,
   * yet its command finds no other command on the stream.
   */
  let relay:
    | { first?: ReturnType<CommandBus['execute']>; firstArrived: () => void; onFirst: Promise<void>; secondArrived: () => void; arrived: Promise<void> }
    | undefined;
  /** Sets the relay; resolves once the first command reaches the bus. */
  const relayTwo = (): Promise<void> => {
    let secondArrived!: () => void;
    let firstArrived!: () => void;
    const onFirst = new Promise<void>((resolve) => (firstArrived = resolve));
    relay = { firstArrived, onFirst, secondArrived: () => secondArrived(), arrived: new Promise((resolve) => (secondArrived = resolve)) };
    return onFirst;
  };
  beforeAll(async () => {
    // The API's bus writes through a store that can be switched off or held; set-up goes straight to the real one.
    const downable = (store: EventStore): EventStore =>
      Object.assign(Object.create(store) as EventStore, {
        append: async (...args: Parameters<EventStore['append']>) => {
          if (storeDown) throw new StoreUnavailableError('test', new Error('ECONNREFUSED 10.9.8.7:5432'));
          if (gate !== undefined) await gate.opened;
          if (relay !== undefined) await relay.arrived;
          return store.append(...args);
        },
      });
    p = await Platform.start({
      override: (deps, store) => {
        const bus = new CommandBus(downable(store), routes);
        const execute: CommandBus['execute'] = async (envelope, command, admit, sent) => {
          if (gate !== undefined && --gate.awaited === 0) {
            gate.open();
            gate = undefined;
          }
          const held = relay;
          if (held !== undefined && held.first === undefined) {
            held.first = bus.execute(envelope, command, admit, sent);
            held.firstArrived();
            return held.first;
          }
          if (held !== undefined) {
            relay = undefined;
            held.secondArrived();
            await held.first;
          }
          return bus.execute(envelope, command, admit, sent);
        };
        return { ...deps, bus: { execute, sending: () => bus.sending() } };
      },
      limits: { consistencyTimeoutMs: 150 },
    });
  });
  afterAll(() => p.close());

  it('refuses malformed GraphQL with graphql\'s own code and HTTP 400', async () => {
    const response = await p.gql('{ device(serial: ', {}, 'USER_ADMIN');
    expect(response.status).toBe(400);
    expect(codeOf(response)).toBe('GRAPHQL_PARSE_FAILED');
    expectNoInternals(response);
  });

  it('refuses an unknown field without suggesting schema details', async () => {
    const response = await p.gql('{ devic(serial: "UKEY-000001") { serial } }', {}, 'USER_ADMIN');
    expect(response.status).toBe(400);
    expect(codeOf(response)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(response.body.errors?.[0].message).not.toMatch(/Did you mean/);
  });

  it('refuses wrong types in variables and in literals before any resolver runs', async () => {
    const before = await p.head();
    const variables = await p.gql(mutationDocument('InitializeDevice'), { input: { commandId: randomUUID(), serial: 42 } }, 'SECURITY_ADMIN');
    expect(variables.status).toBe(400);
    expect(codeOf(variables)).toBe('BAD_USER_INPUT');
    const literal = await p.gql('{ device(serial: 42) { serial } }', {}, 'USER_ADMIN');
    expect(codeOf(literal)).toBe('GRAPHQL_VALIDATION_FAILED');
    const position = await p.gql('query($at: SafeInt) { device(serial: "UKEY-000001", consistentWith: $at) { serial } }', { at: 1.5 }, 'USER_ADMIN');
    expect(codeOf(position)).toBe('BAD_USER_INPUT');
    const quoted = await p.gql('{ device(serial: "UKEY-000001", consistentWith: "6") { serial } }', {}, 'USER_ADMIN');
    expect(quoted.body.errors).toEqual([
      {
        message: 'consistentWith: Expected value of type "SafeInt", found "6"; SafeInt must be a whole number',
        locations: [{ line: 1, column: 49 }],
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      },
    ]);
    expect(await p.head()).toBe(before);
  });

  it('names the argument field of a wrong literal, as it does a wrong variable', async () => {
    const literal = (input: string) =>
      p.gql(`mutation { initializeDevice(input: { ${input} }) { position } }`, {}, 'SECURITY_ADMIN');
    const fields = `commandId: "${randomUUID()}", serial: "UKEY-LIT-01", credentialKind: CERTIFICATE, credentialFingerprint: "${'f'.repeat(64)}"`;
    const kind = await literal(`${fields}, kind: UKEYY`);
    expect(kind.body.errors?.map((e) => e.message)).toEqual(['input.kind: Value "UKEYY" does not exist in "DeviceKind" enum.']);
    const revision = await literal(`${fields}, kind: UKEY, expectedRevision: 99999999999`);
    expect(revision.body.errors?.map((e) => e.message)).toEqual([
      'input.expectedRevision: Int cannot represent non 32-bit signed integer value: 99999999999',
    ]);
  });

  it('names every field that breaks a domain rule, as the console knows it', async () => {
    const response = await p.gql(
      mutationDocument('InitializeDevice'),
      { input: { commandId: 'short', serial: 'bad serial', kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: 'abc' } },
      'SECURITY_ADMIN',
    );
    expect(codeOf(response)).toBe('INVALID_INPUT');
    expect(response.body.errors?.[0].extensions?.issues).toEqual([{ field: 'commandId', rule: expect.stringMatching(/command id/) }]);
    const second = await p.gql(
      mutationDocument('InitializeDevice'),
      { input: { commandId: randomUUID(), serial: 'bad serial', kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: 'abc' } },
      'SECURITY_ADMIN',
    );
    expect(second.body.errors?.[0].extensions?.issues).toEqual([
      { field: 'serial', rule: expect.stringMatching(/device serial number/) },
      { field: 'credentialFingerprint', rule: expect.stringMatching(/SHA-256/) },
    ]);
    expect(second.body.errors?.[0].message).toMatch(/^serial: .*; credentialFingerprint: /);
    const query = await p.gql('{ device(serial: "bad serial") { serial } }', {}, 'USER_ADMIN');
    expect(query.body.errors?.[0].extensions).toMatchObject({ code: 'INVALID_INPUT', issues: [{ field: 'serial' }] });
  });

  it('says a serial is unknown: NOT_FOUND for a command, null for a read', async () => {
    const serial = p.newSerial();
    const command = await p.gql(FREEZE, { input: { commandId: randomUUID(), serial, reason: 'stolen' } }, 'USER_ADMIN');
    expect(codeOf(command)).toBe('NOT_FOUND');
    expect(command.body.errors?.[0].message).toMatch(new RegExp(`device ${serial} does not exist; initialize it first`));
    const view = await p.gql('query($s: String!) { device(serial: $s) { serial } }', { s: serial }, 'USER_ADMIN');
    expect(view.body).toEqual({ data: { device: null } });
    const history = await p.gql('query($s: String!) { deviceHistory(serial: $s) { serial } }', { s: serial }, 'AUDITOR');
    expect(history.body).toEqual({ data: { deviceHistory: null } });
  });

  it('keeps the receipt of a command done before another of the same request was refused', async () => {
    const serial = await p.device('ACTIVE');
    const unknown = p.newSerial();
    const response = await p.gql(
      `mutation($a: FreezeDeviceInput!, $b: FreezeDeviceInput!) {
        a: freezeDevice(input: $a) { position }
        b: freezeDevice(input: $b) { position }
      }`,
      { a: { commandId: randomUUID(), serial, reason: 'audit' }, b: { commandId: randomUUID(), serial: unknown, reason: 'audit' } },
      'USER_ADMIN',
    );
    expect(response.body.data).toEqual({ a: { position: expect.any(Number) }, b: null });
    expect(response.body.errors).toEqual([expect.objectContaining({ path: ['b'], extensions: expect.objectContaining({ code: 'NOT_FOUND' }) })]);
    const view = await p.gql('query($s: String!, $at: SafeInt) { device(serial: $s, consistentWith: $at) { status } }', { s: serial, at: response.body.data!.a.position }, 'USER_ADMIN');
    expect(view.body.data).toEqual({ device: { status: 'FROZEN' } });
  });

  it('refuses a command the state forbids with INVALID_STATE and what to do instead', async () => {
    const serial = await p.device('DISTRIBUTED');
    const response = await p.gql(FREEZE, { input: { commandId: randomUUID(), serial, reason: 'stolen' } }, 'USER_ADMIN');
    expect(codeOf(response)).toBe('INVALID_STATE');
    expect(response.body.errors?.[0].message).toMatch(/while it is DISTRIBUTED; bind it to a user first/);
    expect(response.body.errors?.[0].extensions?.details).toMatchObject({ state: 'DISTRIBUTED' });
  });

  it('refuses a command id reused for another command', async () => {
    const serial = await p.device('ACTIVE');
    const commandId = randomUUID();
    expect(codeOf(await p.gql(FREEZE, { input: { commandId, serial, reason: 'audit' } }, 'USER_ADMIN'))).toBeUndefined();
    const reused = await p.gql(LOST, { input: { commandId, serial, reason: 'lost' } }, 'USER_ADMIN');
    expect(codeOf(reused)).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('lets one of two consoles win a race on one device; the other gets CONFLICT with the current state', async () => {
    const serial = await p.device('ACTIVE');
    const expectedRevision = 2;
    const [a, b] = await Promise.all([
      p.gql(FREEZE, { input: { commandId: randomUUID(), serial, reason: 'suspicious', expectedRevision } }, 'USER_ADMIN'),
      p.gql(LOST, { input: { commandId: randomUUID(), serial, reason: 'lost', expectedRevision } }, 'USER_ADMIN'),
    ]);
    const [winner, loser] = codeOf(a) === undefined ? [a, b] : [b, a];
    expect(codeOf(winner)).toBeUndefined();
    expect(codeOf(loser)).toBe('CONFLICT');
    const winningStatus = winner.body.data?.freezeDevice ? 'FROZEN' : 'LOST';
    expect(loser.body.errors?.[0].extensions).toMatchObject({
      currentState: { status: winningStatus, serial },
      details: { streamId: `device-${serial}`, expectedRevision: 2, revision: 3 },
    });
    expect(loser.body.errors?.[0].message).toMatch(/someone else changed it/);
    expect(await p.store.readStream(`device-${serial}`)).toHaveLength(4);
  });

  /** Two freezes of one device at once, without expectedRevision: one wins, the other gets CONFLICT with the winner's state. */
  const twoFreezesAtOnce = async (serial: string) => {
    const send = () => p.gql(FREEZE, { input: { commandId: randomUUID(), serial, reason: 'suspicious' } }, 'USER_ADMIN');
    const [a, b] = await Promise.all([send(), send()]);
    expect([codeOf(a), codeOf(b)].sort()).toEqual(['CONFLICT', undefined]);
    const loser = codeOf(a) === undefined ? b : a;
    expect(loser.body.errors?.[0].extensions).toMatchObject({
      currentState: { status: 'FROZEN', serial },
      details: { streamId: `device-${serial}`, revision: 3, refusal: 'INVALID_STATE' },
    });
    expect(loser.body.errors?.[0].message).toMatch(/changed while this command was decided \(another console acted on it; .*no longer applies: /);
    expect(await p.store.readStream(`device-${serial}`)).toHaveLength(4);
    return send;
  };

  it('without expectedRevision, decides the later of two at once on the winner\'s state; refused by it, it gets CONFLICT with that state', async () => {
    const serial = await p.device('ACTIVE');
    holdAppendsUntilArrived(2); // both consoles' commands reach the server before either is written
    const send = await twoFreezesAtOnce(serial);
    // Sent after the winner's, the same command is refused by the state it finds.
    expect(codeOf(await send())).toBe('INVALID_STATE');
  });

  it('gives CONFLICT to a command whose request came before the other console\'s write, though it reached the bus after it', async () => {
    const serial = await p.device('ACTIVE');
    void relayTwo();
    await twoFreezesAtOnce(serial);
  });

  it('gives INVALID_STATE, not CONFLICT, to a command the state refused before the other write too', async () => {
    const serial = await p.device('ACTIVE');
    const lostReachedBus = relayTwo();
    const lost = p.gql(LOST, { input: { commandId: randomUUID(), serial, reason: 'lost' } }, 'USER_ADMIN');
    await lostReachedBus;
    // Restoring needs a frozen device: neither the active device nor the lost one may be restored.
    const restore = p.gql(mutationDocument('RestoreDevice'), { input: { commandId: randomUUID(), serial } }, 'USER_ADMIN');
    const [reported, refused] = await Promise.all([lost, restore]);
    expect(codeOf(reported)).toBeUndefined();
    expect(codeOf(refused)).toBe('INVALID_STATE');
  });

  it('does not call a request\'s own earlier mutation another console\'s: the later one is refused by the state', async () => {
    const serial = await p.device('ACTIVE');
    const twice = `mutation($a: FreezeDeviceInput!, $b: FreezeDeviceInput!) { a: freezeDevice(input: $a) { revision } b: freezeDevice(input: $b) { revision } }`;
    const input = () => ({ commandId: randomUUID(), serial, reason: 'suspicious' });
    const response = await p.gql(twice, { a: input(), b: input() }, 'USER_ADMIN');
    expect(response.body.data).toEqual({ a: { revision: 3 }, b: null });
    expect(codeOf(response)).toBe('INVALID_STATE');
  });

  it('says an unknown serial is NOT_FOUND, not a conflict, when the console names a revision', async () => {
    const response = await p.gql(
      mutationDocument('RestoreDevice'),
      { input: { commandId: randomUUID(), serial: p.newSerial(), expectedRevision: 0 } },
      'USER_ADMIN',
    );
    expect(codeOf(response)).toBe('NOT_FOUND');
  });

  it('shows a key pool conflict as its balance and the range named, not every range', async () => {
    const { sourceId, rangeId } = await p.range('ISSUED');
    const response = await p.gql(
      mutationDocument('FreezeKeyRange'),
      { input: { commandId: randomUUID(), sourceId, rangeId, reason: 'audit', expectedRevision: 0 } },
      'SECURITY_ADMIN',
    );
    expect(response.body.errors?.[0].extensions?.currentState).toEqual({
      status: 'OPEN',
      balance: expect.objectContaining({ issued: 1024 }),
      range: expect.objectContaining({ rangeId, status: 'ISSUED' }),
    });
  });

  describe('a CONFLICT shows the current state only to a role that may read it', () => {
    const stale = (type: string, input: Record<string, unknown>, caller: 'CHARGER' | 'GATEWAY') =>
      p.gql(mutationDocument(type), { input: { commandId: randomUUID(), expectedRevision: 0, ...input } }, caller);

    it('gives a charger, which may not read devices, the revision of a device and not its owner or credential', async () => {
      // The kiosk may report on the device of a charge it started.
      const { serial, chargeId } = await p.charge('STARTED');
      const response = await stale('RecordDeviceAuthenticated', { serial, chargerId: p.kiosk, chargeId }, 'CHARGER');
      expect(codeOf(response)).toBe('CONFLICT');
      const { extensions, message } = response.body.errors![0];
      expect(extensions).toEqual({ code: 'CONFLICT', details: { streamId: `device-${serial}`, expectedRevision: 0, revision: 2 } });
      expect(message).toMatch(/its state is not shown, as this caller may not read it: send the command again with expectedRevision 2 if it still applies$/);
      expect(JSON.stringify(response.body)).not.toMatch(new RegExp(`lineman-7|grid-east|${FINGERPRINT}`));
    });

    it('gives a charger its own charger as a console sees it, without the golden boot measurements', async () => {
      const response = await stale('AttestCharger', { chargerId: p.kiosk, measurements: GOLDEN }, 'CHARGER');
      expect(response.body.errors?.[0].extensions).toMatchObject({
        code: 'CONFLICT',
        currentState: { status: 'ATTESTED', chargerId: p.kiosk, location: 'Substation 1' },
      });
      expect(response.body.errors?.[0].extensions?.currentState).not.toHaveProperty('golden');
      expect(JSON.stringify(response.body)).not.toMatch(new RegExp(Object.values(GOLDEN).join('|')));
    });

    it('gives a gateway, which may read no view, the revision of a key pool and not its balance', async () => {
      const { sourceId, rangeId } = await p.range('ISSUED');
      const response = await stale('ConsumeKeyRange', { sourceId, rangeId }, 'GATEWAY');
      expect(codeOf(response)).toBe('CONFLICT');
      expect(response.body.errors?.[0].extensions).not.toHaveProperty('currentState');
      expect(response.body.errors?.[0].extensions?.details).toMatchObject({ streamId: `keypool-${sourceId}`, expectedRevision: 0 });
    });
  });

  it('says when the event store is unavailable, without its driver\'s words', async () => {
    storeDown = true;
    try {
      const response = await p.gql(mutationDocument('InitializeDevice'), {
        input: { commandId: randomUUID(), serial: p.newSerial(), kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: FINGERPRINT },
      }, 'SECURITY_ADMIN');
      expect(codeOf(response)).toBe('STORE_UNAVAILABLE');
      expect(response.body.errors?.[0].message).toMatch(/unavailable; check that it is running/);
      expect(JSON.stringify(response.body)).not.toMatch(/ECONNREFUSED|10\.9\.8\.7/);
    } finally {
      storeDown = false;
    }
  });

  it('passes on the read models\' refusal of a page or cursor as INVALID_INPUT naming the argument', async () => {
    const first = await p.gql('{ devices(first: 0) { total } }', {}, 'USER_ADMIN');
    expect(first.body.errors?.[0].extensions).toEqual({
      code: 'INVALID_INPUT',
      issues: [{ field: 'first', rule: 'must be a whole number from 1 to 500' }],
    });
    const cursor = await p.gql('{ devices(after: "not-a-cursor") { total } }', {}, 'USER_ADMIN');
    expect(cursor.body.errors?.[0].extensions).toMatchObject({ code: 'INVALID_INPUT', issues: [{ field: 'after' }] });
  });

  it('answers a consistentWith the views have reached without asking the log', async () => {
    const serial = await p.device('ACTIVE');
    const at = await p.head();
    await p.gql('query($s: String!, $at: SafeInt) { device(serial: $s, consistentWith: $at) { serial } }', { s: serial, at }, 'USER_ADMIN');
    const asked = [jest.spyOn(p.store, 'lastPosition'), jest.spyOn(p.store, 'readAll')];
    try {
      const again = await p.gql('query($s: String!, $at: SafeInt) { device(serial: $s, consistentWith: $at) { serial } }', { s: serial, at }, 'USER_ADMIN');
      expect(again.body).toEqual({ data: { device: { serial } } });
      for (const spy of asked) expect(spy).not.toHaveBeenCalled();
    } finally {
      for (const spy of asked) spy.mockRestore();
    }
  });

  it('refuses a negative consistentWith as INVALID_INPUT naming it', async () => {
    const serial = await p.device('ACTIVE');
    const response = await p.gql('query($s: String!, $at: SafeInt) { device(serial: $s, consistentWith: $at) { serial } }', { s: serial, at: -1 }, 'USER_ADMIN');
    expect(response.body).toMatchObject({
      data: { device: null },
      errors: [{ message: 'consistentWith: must be a log position: a whole number, 0 or more', extensions: { code: 'INVALID_INPUT', issues: [{ field: 'consistentWith' }] } }],
    });
  });

  it('refuses a consistentWith past the end of the log as INVALID_INPUT, which waiting could not cure', async () => {
    const serial = await p.device('ACTIVE');
    const ahead = (await p.head()) + 1000;
    const response = await p.gql('query($s: String!, $at: SafeInt) { device(serial: $s, consistentWith: $at) { serial } }', { s: serial, at: ahead }, 'USER_ADMIN');
    expect(response.body.errors?.[0]).toMatchObject({
      message: `consistentWith: must be a position the log has reached, such as the one a mutation's receipt gave; the log ends at position ${ahead - 1000}`,
      extensions: { code: 'INVALID_INPUT', issues: [{ field: 'consistentWith' }] },
    });
  });
});

describe('views that fall behind the log', () => {
  let p: Platform;
  let projector: Projector;
  beforeAll(async () => {
    p = await Platform.start({
      override: (deps, store) => {
        const views = new MemoryViewStore();
        projector = new Projector(store, views);
        return { ...deps, readModels: createReadModels(views, projector) };
      },
      limits: { consistencyTimeoutMs: 150 },
    });
  });
  afterAll(async () => {
    await projector.stop();
    await p.close();
  });

  it('answer VIEWS_STALE when they do not reach consistentWith in time', async () => {
    projector.start();
    expect(await projector.waitFor(await p.head(), 5_000)).toBe(true);
    await projector.stop(); // live, but no longer following the log
    const serial = await p.device('ACTIVE');
    const at = await p.head();
    const response = await p.gql('query($s: String!, $at: SafeInt) { device(serial: $s, consistentWith: $at) { serial } }', { s: serial, at }, 'USER_ADMIN');
    expect(codeOf(response)).toBe('VIEWS_STALE');
    expect(response.body.errors?.[0].message).toMatch(new RegExp(`not ${at}, within 150 ms; retry shortly`));
  });
});

describe('views that are not live', () => {
  let p: Platform;
  beforeAll(async () => {
    // A projector that never starts: its views stay where a start leaves them, catching up.
    p = await Platform.start({
      override: (deps, store) => {
        const views = new MemoryViewStore();
        return { ...deps, readModels: createReadModels(views, new Projector(store, views)) };
      },
      limits: { consistencyTimeoutMs: 150 },
    });
  });
  afterAll(() => p.close());

  it('answer VIEWS_STALE with the reason and the position they hold, not an answer from an older log', async () => {
    const serial = await p.device('ACTIVE');
    const read = await p.gql('query($s: String!) { device(serial: $s) { serial } }', { s: serial }, 'USER_ADMIN');
    expect(read.body.data).toEqual({ device: null });
    expect(read.body.errors).toMatchObject([
      {
        message: 'the views are catching up with the log; retry shortly',
        path: ['device'],
        extensions: { code: 'VIEWS_STALE', position: 0 },
      },
    ]);
    const at = await p.head();
    const own = await p.gql('query($s: String!, $at: SafeInt) { device(serial: $s, consistentWith: $at) { serial } }', { s: serial, at }, 'USER_ADMIN');
    expect(own.body.errors?.[0]).toMatchObject({
      message: `the views hold the log up to position 0, not ${at}: the views are catching up with the log; retry shortly`,
      extensions: { code: 'VIEWS_STALE', position: 0, wanted: at },
    });
  });
});

describe('error masking', () => {
  const logged: { event: string; fields: unknown }[] = [];
  let p: Platform;
  beforeAll(async () => {
    p = await Platform.start({
      log: (event, fields) => logged.push({ event, fields }),
      override: (deps) => ({
        ...deps,
        readModels: {
          ...deps.readModels,
          device: async () => {
            throw new TypeError("Cannot read properties of undefined (reading 'hget') at RedisViewStore.hashes (/srv/qkmp/redis.js:88)");
          },
          pools: async () => {
            throw new ViewsUnavailableError('redis://10.1.2.3:6379');
          },
        },
        auditVerify: async () => {
          throw new Error('chain broken at /var/lib/qkmp/events.db');
        },
      }),
    });
  });
  afterAll(() => p.close());

  it('replaces an unexpected error by a generic INTERNAL_SERVER_ERROR and logs it without the request\'s secrets', async () => {
    const response = await p.gql('query($s: String!) { device(serial: $s) { serial } }', { s: 'UKEY-SECRET1' }, 'USER_ADMIN');
    expect(response.status).toBe(200);
    expect(response.body.data).toEqual({ device: null });
    expect(response.body.errors).toEqual([
      { message: expect.stringMatching(/^Internal server error/), path: ['device'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
    ]);
    expectNoInternals(response);
    expect(JSON.stringify(response.body)).not.toMatch(/hget|RedisViewStore|\/srv\//);

    const verify = await p.gql('{ auditVerify { ok } }', {}, 'AUDITOR');
    expect(verify.body.errors?.[0]).toMatchObject({ extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(verify.body)).not.toMatch(/events\.db/);

    const pools = await p.gql('{ pools { sourceId } }', {}, 'USER_ADMIN');
    expect(pools.body.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/read models are unavailable .*retry shortly/),
      extensions: { code: 'VIEWS_STALE' },
    });

    const entries = JSON.stringify(logged);
    expect(logged.map((l) => l.event)).toEqual(['graphql.unexpected_error', 'graphql.unexpected_error']);
    expect(entries).toMatch(/RedisViewStore\.hashes/);
    expect(entries).not.toContain(p.tokens.USER_ADMIN);
    expect(entries).not.toContain('UKEY-SECRET1');
  });
});

describe('a CONFLICT whose state is withheld', () => {
  const lost = conflict('keypool-bb84', 5, 42, { balance: 'secret to this caller' });

  it('tells the caller to send the command again with the current revision', () => {
    const error = commandFailure(lost);
    expect(error.message).toMatch(/its state is not shown, as this caller may not read it: send the command again with expectedRevision 42 if it still applies$/);
    expect(error.extensions).not.toHaveProperty('currentState');
  });

  it('gives the advice of a mutation that takes no expectedRevision instead', () => {
    const error = commandFailure(lost, undefined, () => 'send chargeKeys again if the charge still needs key');
    expect(error.message).toMatch(/may not read it: send chargeKeys again if the charge still needs key$/);
    expect(error.message).not.toMatch(/expectedRevision/);
  });
});
