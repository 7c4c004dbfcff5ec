import { streamOf } from '../../../domain/shared/aggregate';
import * as E from 'fp-ts/Either';
import { AccessControl, Principal } from '../../../application/access/access-control';
import { AccessCheckUnavailableError } from '../../../application/access/errors';
import { revokePrincipal } from '../../../application/access/principals';
import { commandPolicy, CommandType, governedAggregates, grants } from '../../../application/access/policy';
import { CommandBus } from '../../../application/command-bus';
import { storeUnavailable } from '../../../application/errors';
import { commandRoutes } from '../../../application/routes';
import { accessEventCodecs } from '../../../domain/access';
import { decodeMessage } from '../../../domain/shared/codec';
import { PrincipalRole } from '../../../domain/principal';
import { given, other, own, platform, Platform, POOL, sampleCommand, SERIAL } from './fixture';

const roles: PrincipalRole[] = ['SECURITY_ADMIN', 'USER_ADMIN', 'AUDITOR', 'CHARGER', 'GATEWAY'];
const commandTypes = Object.keys(commandPolicy) as CommandType[];
const chargerCommands = commandTypes.filter((type) => grants(commandPolicy[type], 'CHARGER'));

let p: Platform;
beforeEach(async () => {
  p = await platform();
});
afterEach(() => p.close());

/** Authorizes, returning the decision and every event it appended. */
const authorize = async (principal: Principal | null, command: { type: string; data: unknown }) => {
  let decision: E.Either<{ code: string; message: string }, void> | undefined;
  const appended = await p.appendedBy(async () => {
    decision = await p.access.authorizeCommand(principal, command);
  });
  return { decision: decision!, appended };
};

/** Expects a refusal that appended exactly one AccessDenied, and nothing else. */
const expectDenied = async (
  principal: Principal | null,
  command: { type: string; data: unknown },
  reason: 'UNAUTHENTICATED' | 'FORBIDDEN',
  target: unknown,
  message?: RegExp,
) => {
  const { decision, appended } = await authorize(principal, command);
  if (E.isRight(decision)) throw new Error(`expected ${reason} for ${command.type}, it was allowed`);
  expect(decision.left.code).toBe(reason);
  if (message) expect(decision.left.message).toMatch(message);
  expect(appended).toHaveLength(1);
  const [event] = appended;
  expect(event.streamId).toBe(`access-${principal?.id ?? 'anonymous'}`);
  const decoded = decodeMessage(accessEventCodecs, { type: event.type, data: event.data }, 'access event');
  expect(decoded).toEqual(
    E.right({
      type: 'AccessDenied',
      data: {
        principalId: principal?.id ?? null,
        role: principal?.role ?? null,
        operation: commandTypes.includes(command.type as CommandType) ? command.type : 'unknown command type',
        target,
        reason,
      },
    }),
  );
  return decision.left;
};

const expectAllowed = async (principal: Principal, command: { type: string; data: unknown }) => {
  const { decision, appended } = await authorize(principal, command);
  expect([command.type, decision]).toEqual([command.type, E.right(undefined)]);
  expect(appended).toEqual([]);
};

/** The stream the sample command of a type addresses, as its aggregate names it. */
const targetOf = (type: CommandType): string => {
  const aggregate = governedAggregates.find((a) => type in a.commandCodecs)!;
  return streamOf(aggregate, (aggregate.targetOf as (command: unknown) => string)(sampleCommand(type)));
};

describe('authorizeCommand, role by role', () => {
  it.each(roles)('lets %s run exactly what the table grants it, and refuses the rest as FORBIDDEN', async (role) => {
    const principal = await p.principal(role);
    for (const type of commandTypes) {
      if (grants(commandPolicy[type], role)) await expectAllowed(principal, sampleCommand(type));
      else await expectDenied(principal, sampleCommand(type), 'FORBIDDEN', targetOf(type));
    }
  });

  it('says who may run a command instead', async () => {
    const error = await expectDenied(
      await p.principal('USER_ADMIN'),
      sampleCommand('InitializeDevice'),
      'FORBIDDEN',
      `device-${SERIAL}`,
    );
    expect(error.message).toBe(
      'a USER_ADMIN may not run InitializeDevice; send an Authorization: Bearer token of a SECURITY_ADMIN',
    );
  });

  it.each(['CreatePrincipal', 'RotatePrincipalToken', 'RevokePrincipal'] as const)(
    'refuses %s to every token, even a SECURITY_ADMIN: principals are managed from the command line',
    async (type) => {
      const admin = await p.principal('SECURITY_ADMIN');
      const error = await expectDenied(admin, sampleCommand(type), 'FORBIDDEN', 'principal-mallory');
      expect(error.message).toMatch(/no token may run it; only the command line on the platform host does$/);
    },
  );

  it('refuses an unknown command type as FORBIDDEN, without recording the caller\'s text', async () => {
    const error = await expectDenied(
      await p.principal('SECURITY_ADMIN'),
      { type: 'GrantMeEverything', data: {} },
      'FORBIDDEN',
      null,
      /^a SECURITY_ADMIN may not run unknown command type; no role may run it; check the command type$/,
    );
    expect(JSON.stringify(await p.log())).not.toContain('GrantMeEverything');
    expect(error.code).toBe('FORBIDDEN');
  });
});

describe('authorizeCommand without a principal', () => {
  it.each(commandTypes)('refuses %s as UNAUTHENTICATED, recording an anonymous denial', async (type) => {
    const error = await expectDenied(null, sampleCommand(type), 'UNAUTHENTICATED', targetOf(type));
    expect(error.message).toMatch(new RegExp(`^${type} needs a principal; `));
  });

  it('names the role whose token to send', async () => {
    const error = await expectDenied(null, sampleCommand('BindDevice'), 'UNAUTHENTICATED', `device-${SERIAL}`);
    expect(error.message).toBe('BindDevice needs a principal; send an Authorization: Bearer token of a USER_ADMIN');
  });
});

describe('a principal revoked after it authenticated', () => {
  it('is refused as UNAUTHENTICATED when its command is authorized, as a queued command is again in its turn', async () => {
    const admin = await p.principal('USER_ADMIN');
    expect(E.isRight((await authorize(admin, sampleCommand('BindDevice'))).decision)).toBe(true);
    const revoked = await revokePrincipal(p.bus, admin.id, 'left the company');
    if (E.isLeft(revoked)) throw new Error(revoked.left.message);
    await p.access.caughtUpTo(revoked.right.position);
    const error = await expectDenied(admin, sampleCommand('BindDevice'), 'UNAUTHENTICATED', `device-${SERIAL}`);
    expect(error.message).toMatch(/^the bearer token is not valid \(unknown, rotated or revoked\)/);
  });
});

describe('a charger acts only as itself', () => {
  it.each(chargerCommands)('may run %s for itself', async (type) => {
    await expectAllowed(await p.principal('CHARGER'), sampleCommand(type, own));
  });

  it.each(chargerCommands)('may not run %s for another charger or its charge or range', async (type) => {
    const charger = await p.principal('CHARGER');
    const error = await expectDenied(charger, sampleCommand(type, other), 'FORBIDDEN', expect.any(String));
    expect(error.message).toMatch(new RegExp(`^charger ${own.chargerId} may run ${type} only for `));
    expect(error.message).not.toContain('SECURITY_ADMIN');
  });

  it('tells the charger which chargerId to send', async () => {
    const charger = await p.principal('CHARGER');
    const error = await expectDenied(charger, sampleCommand('AttestCharger', other), 'FORBIDDEN', 'charger-qkc-2');
    expect(error.message).toBe('charger qkc-1 may run AttestCharger only for itself; send data.chargerId "qkc-1"');
  });

  it('refuses a charge that does not exist the same way as another charger\'s, so it learns nothing', async () => {
    const charger = await p.principal('CHARGER');
    const unknown = { type: 'CompleteCharge', data: { chargeId: 'charge-404', deviceAcknowledgement: 'a'.repeat(64) } };
    const missing = await expectDenied(charger, unknown, 'FORBIDDEN', 'charge-charge-404');
    const others = await expectDenied(charger, sampleCommand('CompleteCharge', other), 'FORBIDDEN', 'charge-charge-2');
    expect(missing.message.replace('charge-404', 'X')).toBe(others.message.replace(other.chargeId, 'X'));
  });

  it('refuses to reserve key for a charge of another charger', async () => {
    await expectDenied(
      await p.principal('CHARGER'),
      { type: 'ReserveKeyRange', data: { sourceId: POOL, rangeId: 'range-9', length: 64, chargeId: other.chargeId } },
      'FORBIDDEN',
      `keypool-${POOL}`,
      /only for charges it started; charge charge-2 is not one of them$/,
    );
  });

  it.each([
    ['ReserveKeyRange', { sourceId: POOL, rangeId: 'range-9', length: 0, chargeId: other.chargeId }, `keypool-${POOL}`],
    ['FailCharge', { chargeId: other.chargeId, reason: '' }, `charge-${other.chargeId}`],
    ['CompleteCharge', { chargeId: other.chargeId, deviceAcknowledgement: 'not a digest' }, `charge-${other.chargeId}`],
  ])('refuses %s on another charger\'s charge before its other fields are checked, so their rules reveal nothing', async (type, data, target) => {
    const error = await expectDenied(await p.principal('CHARGER'), { type, data }, 'FORBIDDEN', target);
    expect(error.message).toBe(`charger ${own.chargerId} may run ${type} only for charges it started; charge ${other.chargeId} is not one of them`);
  });

  it('leaves a malformed command to the command bus, which names the field', async () => {
    const malformed = { type: 'RecordDeviceAuthenticated', data: { serial: SERIAL, chargerId: 'not a charger id' } };
    await expectAllowed(await p.principal('CHARGER'), malformed);
    const bus = new CommandBus(p.store, commandRoutes);
    const envelope = { commandId: 'cmd-malformed-1', actor: { id: own.chargerId, role: 'CHARGER' } };
    const executed = await bus.execute(envelope, malformed);
    expect(E.isLeft(executed) && executed.left).toMatchObject({
      code: 'INVALID_INPUT',
      message: /^data.chargerId: must be an identifier/,
    });
  });

  it('still refuses a malformed command to a role the table does not grant', async () => {
    await expectDenied(await p.principal('AUDITOR'), { type: 'AttestCharger', data: {} }, 'FORBIDDEN', null);
  });
});

describe('a charger reports a PIN check only on the device it is charging', () => {
  const deviceCommands = ['RecordDeviceAuthenticationFailure', 'RecordDeviceAuthenticated'] as const;
  type DeviceCommand = (typeof deviceCommands)[number];
  const sent = (type: DeviceCommand, patch: Record<string, string>) => ({
    type,
    data: { ...(sampleCommand(type).data as object), ...patch },
  });
  const verified = {
    type: 'ChargeDeviceVerified',
    data: { chargeId: own.chargeId, deviceSerial: SERIAL, method: 'CERTIFICATE' },
  };
  const failed = {
    type: 'ChargeFailed',
    data: { chargeId: own.chargeId, deviceSerial: SERIAL, chargerId: own.chargerId, reason: 'kiosk lost power', rangesToDestroy: [] },
  };

  it.each(deviceCommands)('refuses %s under a charge that is unknown or another charger\'s, alike', async (type) => {
    const charger = await p.principal('CHARGER');
    for (const chargeId of ['charge-404', other.chargeId]) {
      const error = await expectDenied(charger, sent(type, { chargeId }), 'FORBIDDEN', `device-${SERIAL}`);
      expect(error.message).toBe(`charger qkc-1 may run ${type} only for charges it started; charge ${chargeId} is not one of them`);
    }
  });

  it.each(deviceCommands)('refuses %s on a device other than the one its charge names', async (type) => {
    const error = await expectDenied(
      await p.principal('CHARGER'),
      sent(type, { serial: 'UKEY-000002' }),
      'FORBIDDEN',
      'device-UKEY-000002',
    );
    expect(error.message).toMatch(/only for the device its charge names; charge charge-1 charges UKEY-000001, not UKEY-000002$/);
  });

  it.each([
    ['verified', verified, 'DEVICE_VERIFIED'],
    ['failed', failed, 'FAILED'],
  ] as const)('refuses both once the charge is %s: the PIN is checked at its start', async (_, event, status) => {
    await given(p.store, `charge-${own.chargeId}`, event);
    for (const type of deviceCommands) {
      const error = await expectDenied(await p.principal('CHARGER'), sampleCommand(type), 'FORBIDDEN', `device-${SERIAL}`);
      expect(error.message).toMatch(
        `(STARTED, before recordChargeDeviceVerification); charge charge-1 is ${status}: start a new charge to check the device again`,
      );
    }
  });

  it('refuses both to a charger whose attestation failed, saying how to be attested again', async () => {
    await given(p.store, `charger-${own.chargerId}`, {
      type: 'ChargerAttestationFailed',
      data: { chargerId: own.chargerId, mismatched: ['application'] },
    });
    for (const type of deviceCommands) {
      const error = await expectDenied(await p.principal('CHARGER'), sampleCommand(type), 'FORBIDDEN', `device-${SERIAL}`);
      expect(error.message).toMatch(/only for devices it charges while it is ATTESTED; it is ATTESTATION_FAILED: .*attest it again/);
    }
  });
});

describe('a revoked charger', () => {
  beforeEach(() =>
    given(p.store, `charger-${own.chargerId}`, { type: 'ChargerRevoked', data: { chargerId: own.chargerId, reason: 'stolen' } }),
  );

  it.each(chargerCommands)('may not run %s, even for its own charge', async (type) => {
    const error = await expectDenied(await p.principal('CHARGER'), sampleCommand(type), 'FORBIDDEN', targetOf(type));
    expect(error.message).toMatch(/^charger qkc-1 is revoked, so it may run and read nothing; .* register the kiosk again under a new charger id/);
  });

  it('may not send a malformed command either, which would otherwise go on to the command bus', async () => {
    const malformed = { type: 'RecordDeviceAuthenticated', data: { serial: SERIAL } };
    // The device it names is recorded, read from its data although the command is incomplete.
    await expectDenied(await p.principal('CHARGER'), malformed, 'FORBIDDEN', `device-${SERIAL}`, /^charger qkc-1 is revoked/);
  });
});

describe('when a check cannot read what it needs', () => {
  it('rejects with AccessCheckUnavailableError and records nothing', async () => {
    const down = await AccessControl.open(p.store, async () => E.left(storeUnavailable('the store is unavailable')));
    try {
      const charger = await p.principal('CHARGER');
      const appended = await p.appendedBy(async () => {
        const checked = down.authorizeCommand(charger, sampleCommand('CompleteCharge'));
        await expect(checked).rejects.toThrow(AccessCheckUnavailableError);
      });
      expect(appended).toEqual([]);
    } finally {
      await down.close();
    }
  });
});
