import { createHash } from 'node:crypto';
import * as E from 'fp-ts/Either';
import fc from 'fast-check';
import { streamOf } from '../../../domain/shared/aggregate';
import { decodeMessage } from '../../../domain/shared/codec';
import {
  deviceAggregate,
  DeviceCommand,
  DeviceEvent,
  DeviceState,
  DeviceStatus,
  MAX_PIN_ATTEMPTS,
} from '../../../domain/device';
import { scenario } from '../../support/given-when-then';

const device = scenario(deviceAggregate);

const serial = 'UKEY-000001';
const chargerId = 'qkc-substation-7';
const chargeId = 'charge-1';
const fingerprint = createHash('sha256').update('device certificate of UKEY-000001').digest('hex');

// Events, one per fact, so histories read like the device's life.
const initialized: DeviceEvent = {
  type: 'DeviceInitialized',
  data: { serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: fingerprint },
};
const distributed: DeviceEvent = { type: 'DeviceDistributed', data: { serial, organisation: 'grid-north' } };
const bound: DeviceEvent = { type: 'DeviceBound', data: { serial, userId: 'alice' } };
const reportedLost: DeviceEvent = { type: 'DeviceReportedLost', data: { serial, reason: 'left on a train' } };
const lossCancelled: DeviceEvent = { type: 'DeviceLossCancelled', data: { serial } };
const frozen: DeviceEvent = { type: 'DeviceFrozen', data: { serial, reason: 'suspected tampering' } };
const restored: DeviceEvent = { type: 'DeviceRestored', data: { serial } };
const destroyed: DeviceEvent = { type: 'DeviceDestroyed', data: { serial, reason: 'end of life' } };
const authenticated: DeviceEvent = { type: 'DeviceAuthenticated', data: { serial, chargerId } };
const unblocked: DeviceEvent = { type: 'DevicePinUnblocked', data: { serial } };
const failed = (
  consecutiveFailures: number,
  reason: 'BAD_PIN' | 'BAD_PROOF' | 'UNKNOWN_CREDENTIAL' = 'BAD_PIN',
): DeviceEvent => ({ type: 'DeviceAuthenticationFailed', data: { serial, chargerId, reason, consecutiveFailures } });
const pinLocked = (failures: number): DeviceEvent => ({ type: 'DevicePinLocked', data: { serial, failures } });
/** `count` wrong PINs in a row, numbered from `from`. */
const badPins = (count: number, from = 1): DeviceEvent[] => Array.from({ length: count }, (_, i) => failed(from + i));

type Existing = Exclude<DeviceStatus, 'NONE'>;
const active = [initialized, distributed, bound];
const history: Record<Existing, DeviceEvent[]> = {
  INITIALIZED: [initialized],
  DISTRIBUTED: [initialized, distributed],
  ACTIVE: active,
  LOST: [...active, reportedLost],
  FROZEN: [...active, frozen],
  DESTROYED: [...active, destroyed],
};
const locked = [...active, ...badPins(MAX_PIN_ATTEMPTS), pinLocked(MAX_PIN_ATTEMPTS)];

// Commands go in as plain input, exactly as a console would send them.
const command = {
  InitializeDevice: {
    type: 'InitializeDevice',
    data: { serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: fingerprint },
  },
  DistributeDevice: { type: 'DistributeDevice', data: { serial, organisation: 'grid-north' } },
  BindDevice: { type: 'BindDevice', data: { serial, userId: 'alice' } },
  ReportDeviceLost: { type: 'ReportDeviceLost', data: { serial, reason: 'left on a train' } },
  CancelDeviceLoss: { type: 'CancelDeviceLoss', data: { serial } },
  FreezeDevice: { type: 'FreezeDevice', data: { serial, reason: 'suspected tampering' } },
  RestoreDevice: { type: 'RestoreDevice', data: { serial } },
  DestroyDevice: { type: 'DestroyDevice', data: { serial, reason: 'end of life' } },
  RecordDeviceAuthenticationFailure: {
    type: 'RecordDeviceAuthenticationFailure',
    data: { serial, chargerId, chargeId, reason: 'BAD_PIN' },
  },
  RecordDeviceAuthenticated: { type: 'RecordDeviceAuthenticated', data: { serial, chargerId, chargeId } },
  UnblockDevicePin: { type: 'UnblockDevicePin', data: { serial } },
} as const;
type CommandType = keyof typeof command;

const withData = (type: CommandType, data: Record<string, unknown>) => ({
  type,
  data: { ...command[type].data, ...data },
});
const failure = (reason: string) => withData('RecordDeviceAuthenticationFailure', { reason });
const stateAfter = (events: DeviceEvent[]): DeviceState =>
  events.reduce(deviceAggregate.evolve, deviceAggregate.initialState);

const allButInitialize = (Object.keys(command) as CommandType[]).filter((type) => type !== 'InitializeDevice');

describe('device aggregate wiring', () => {
  it('lives in device-<serial> streams and routes every command by its serial', () => {
    for (const type of Object.keys(command) as CommandType[]) {
      const decoded = decodeMessage<DeviceCommand>(deviceAggregate.commandCodecs, command[type], 'device command');
      expect(E.isRight(decoded) && deviceAggregate.targetOf(decoded.right)).toBe(serial);
    }
    expect(streamOf(deviceAggregate, serial)).toBe('device-UKEY-000001');
  });

  it('registers each codec under its own message type', () => {
    for (const codecs of [deviceAggregate.commandCodecs, deviceAggregate.eventCodecs]) {
      for (const [type, codec] of Object.entries(codecs)) expect(codec.name).toBe(type);
    }
    expect(Object.keys(deviceAggregate.commandCodecs).sort()).toEqual(Object.keys(command).sort());
  });

  it('locks the PIN after five wrong entries', () => {
    expect(MAX_PIN_ATTEMPTS).toBe(5);
  });

  it('refuses an unknown command type, listing the known ones', () => {
    const error = device.given().when({ type: 'ChargeDevice', data: { serial } }).thenError('INVALID_INPUT');
    expect(error.issues).toEqual([
      { field: 'type', rule: expect.stringContaining('InitializeDevice, DistributeDevice') },
    ]);
  });
});

describe('InitializeDevice', () => {
  it('initializes a new device with the fingerprint of its credential', () => {
    device.given().when(command.InitializeDevice).then(initialized);
  });

  it('keeps the credential itself out of the event even when a caller sends it', () => {
    const secret = '-----BEGIN PRIVATE KEY----- MIIEvQ';
    const { result } = device.given().when(withData('InitializeDevice', { credential: secret, pin: '123456' }));
    expect(result).toEqual(E.right([initialized]));
    expect(JSON.stringify(result)).not.toContain(secret);
  });

  it.each(['INITIALIZED', 'ACTIVE', 'LOST', 'DESTROYED'] as const)(
    'refuses a serial already used by a %s device: serials are never reused',
    (status) => {
      const error = device
        .given(...history[status])
        .when(command.InitializeDevice)
        .thenError('ALREADY_EXISTS', 'device UKEY-000001 already exists');
      expect(error.details).toEqual({ entity: 'device', id: serial });
    },
  );

  it.each([
    [{ serial: 'ukey 1' }, 'data.serial', /device serial number/],
    [{ kind: 'USB_STICK' }, 'data.kind', /one of UKEY, TF_CARD, SD_CARD/],
    [{ credentialKind: 'PASSWORD' }, 'data.credentialKind', /one of CERTIFICATE, QK_STRING/],
    [{ credentialFingerprint: 'ABCDEF' }, 'data.credentialFingerprint', /SHA-256 digest/],
    [{ credentialFingerprint: undefined }, 'data.credentialFingerprint', /is required/],
  ])('refuses %j, naming %s and its rule', (patch, field, rule) => {
    const error = device.given().when(withData('InitializeDevice', patch)).thenError('INVALID_INPUT', field);
    expect(error.issues).toEqual([{ field, rule: expect.stringMatching(rule) }]);
  });
});

describe('commands on a device that does not exist', () => {
  it.each(allButInitialize)('%s is NOT_FOUND with the advice to initialize it', (type) => {
    const error = device
      .given()
      .when(command[type])
      .thenError('NOT_FOUND', 'device UKEY-000001 does not exist; initialize it first');
    expect(error.details).toEqual({ entity: 'device', id: serial });
  });
});

describe('a destroyed device never changes again', () => {
  it.each(allButInitialize)('%s is refused', (type) => {
    const error = device
      .given(...history.DESTROYED)
      .when(command[type])
      .thenError('INVALID_STATE', /while it is DESTROYED; a destroyed device never changes again; initialize a new/);
    expect(error.details).toMatchObject({ state: 'DESTROYED' });
  });
});

describe('DistributeDevice', () => {
  it('distributes an initialized device to an organisation', () => {
    device.given(...history.INITIALIZED).when(command.DistributeDevice).then(distributed);
  });

  it.each(['DISTRIBUTED', 'ACTIVE', 'LOST', 'FROZEN'] as const)('refuses a %s device', (status) => {
    device
      .given(...history[status])
      .when(command.DistributeDevice)
      .thenError('INVALID_STATE', `cannot distribute device ${serial} while it is ${status}; it was distributed`);
  });

  it('refuses a malformed organisation', () => {
    const error = device
      .given(...history.INITIALIZED)
      .when(withData('DistributeDevice', { organisation: 'grid north' }))
      .thenError('INVALID_INPUT', /data.organisation: must be an identifier/);
    expect(error.issues).toHaveLength(1);
  });
});

describe('BindDevice', () => {
  it('binds a distributed device to its user, registering and activating it', () => {
    device.given(...history.DISTRIBUTED).when(command.BindDevice).then(bound);
  });

  it('refuses an undistributed device, advising to distribute it first', () => {
    device
      .given(...history.INITIALIZED)
      .when(command.BindDevice)
      .thenError('INVALID_STATE', /while it is INITIALIZED; distribute it to an organisation first/);
  });

  it.each(['ACTIVE', 'LOST', 'FROZEN'] as const)('refuses a %s device, which is bound already', (status) => {
    device
      .given(...history[status])
      .when(command.BindDevice)
      .thenError('INVALID_STATE', `cannot bind device ${serial} while it is ${status}; it is bound to a user already`);
  });

  it('refuses a missing user id', () => {
    device
      .given(...history.DISTRIBUTED)
      .when({ type: 'BindDevice', data: { serial } })
      .thenError('INVALID_INPUT', /^data.userId: is required \(an identifier/);
  });
});

describe('ReportDeviceLost', () => {
  it('reports an active device lost', () => {
    device.given(...history.ACTIVE).when(command.ReportDeviceLost).then(reportedLost);
  });

  it.each([
    ['INITIALIZED', /distribute and bind it first/],
    ['DISTRIBUTED', /bind it to a user first/],
    ['LOST', /it is reported lost already; nothing to do/],
    ['FROZEN', /restore it first/],
  ] as const)('refuses a %s device: %s', (status, hint) => {
    const error = device.given(...history[status]).when(command.ReportDeviceLost).thenError('INVALID_STATE', hint);
    expect(error.message).toMatch(`cannot report the loss of device UKEY-000001 while it is ${status}`);
  });

  it('refuses a blank reason', () => {
    device
      .given(...history.ACTIVE)
      .when(withData('ReportDeviceLost', { reason: '   ' }))
      .thenError('INVALID_INPUT', /data.reason: must be text of 1 to 200 characters/);
  });
});

describe('CancelDeviceLoss', () => {
  it('puts a device reported lost back into service', () => {
    device.given(...history.LOST).when(command.CancelDeviceLoss).then(lossCancelled);
  });

  it('refuses an active device: there is no loss to cancel', () => {
    device
      .given(...history.ACTIVE)
      .when(command.CancelDeviceLoss)
      .thenError('INVALID_STATE', /cancel the loss report of device UKEY-000001 while it is ACTIVE; .*nothing to/);
  });

  it.each(['INITIALIZED', 'DISTRIBUTED', 'FROZEN'] as const)('refuses a %s device', (status) => {
    device
      .given(...history[status])
      .when(command.CancelDeviceLoss)
      .thenError('INVALID_STATE', `while it is ${status}; only a device reported LOST can have its loss cancelled`);
  });

  it('refuses a command without a serial', () => {
    device
      .given(...history.LOST)
      .when({ type: 'CancelDeviceLoss', data: {} })
      .thenError('INVALID_INPUT', /^data.serial: is required \(a device serial number/);
  });
});

describe('FreezeDevice', () => {
  it('freezes an active device', () => {
    device.given(...history.ACTIVE).when(command.FreezeDevice).then(frozen);
  });

  it.each([
    ['INITIALIZED', /distribute and bind it first/],
    ['DISTRIBUTED', /bind it to a user first/],
    ['LOST', /cancel the loss report first/],
    ['FROZEN', /it is frozen already; nothing to do/],
  ] as const)('refuses a %s device: %s', (status, hint) => {
    const error = device.given(...history[status]).when(command.FreezeDevice).thenError('INVALID_STATE', hint);
    expect(error.details).toEqual({ entity: 'device', id: serial, state: status, action: 'freeze' });
  });

  it('refuses a reason longer than 200 characters', () => {
    device
      .given(...history.ACTIVE)
      .when(withData('FreezeDevice', { reason: 'x'.repeat(201) }))
      .thenError('INVALID_INPUT', /data.reason: must be text of 1 to 200 characters/);
  });
});

describe('RestoreDevice', () => {
  it('puts a frozen device back into service', () => {
    device.given(...history.FROZEN).when(command.RestoreDevice).then(restored);
  });

  it.each([
    ['INITIALIZED', /only a FROZEN device can be restored/],
    ['DISTRIBUTED', /only a FROZEN device can be restored/],
    ['ACTIVE', /it is not frozen; nothing to restore/],
    ['LOST', /cancel the loss report instead/],
  ] as const)('refuses a %s device: %s', (status, hint) => {
    const error = device.given(...history[status]).when(command.RestoreDevice).thenError('INVALID_STATE', hint);
    expect(error.message).toMatch(`cannot restore device UKEY-000001 while it is ${status}`);
  });

  it('refuses a lower-case serial', () => {
    device
      .given(...history.FROZEN)
      .when(withData('RestoreDevice', { serial: 'ukey-000001' }))
      .thenError('INVALID_INPUT', /data.serial: must be a device serial number/);
  });
});

describe('DestroyDevice', () => {
  it.each(['INITIALIZED', 'DISTRIBUTED', 'ACTIVE', 'LOST', 'FROZEN'] as const)('destroys a %s device', (status) => {
    device.given(...history[status]).when(command.DestroyDevice).then(destroyed);
  });

  it('refuses a reason that is not text', () => {
    device
      .given(...history.ACTIVE)
      .when(withData('DestroyDevice', { reason: 42 }))
      .thenError('INVALID_INPUT', /data.reason: must be text of 1 to 200 characters/);
  });
});

describe('RecordDeviceAuthenticationFailure', () => {
  it('records the first wrong PIN with its count', () => {
    device.given(...active).when(command.RecordDeviceAuthenticationFailure).then(failed(1));
  });

  it('locks the PIN in the same decision as the fifth wrong PIN in a row', () => {
    device
      .given(...active, ...badPins(MAX_PIN_ATTEMPTS - 1))
      .when(command.RecordDeviceAuthenticationFailure)
      .then(failed(MAX_PIN_ATTEMPTS), pinLocked(MAX_PIN_ATTEMPTS));
  });

  it.each(['BAD_PROOF', 'UNKNOWN_CREDENTIAL'] as const)(
    'counts a %s failure in a row of failures without it counting towards the PIN lock',
    (reason) => {
      device
        .given(...active, ...badPins(MAX_PIN_ATTEMPTS - 1))
        .when(failure(reason))
        .then(failed(MAX_PIN_ATTEMPTS, reason));
    },
  );

  it('locks on the fifth wrong PIN even when other failures came between', () => {
    device
      .given(...active, ...badPins(2), failed(3, 'BAD_PROOF'), ...badPins(2, 4))
      .when(command.RecordDeviceAuthenticationFailure)
      .then(failed(6), pinLocked(MAX_PIN_ATTEMPTS));
  });

  it('keeps recording failures on a locked device without locking it twice', () => {
    device.given(...locked).when(command.RecordDeviceAuthenticationFailure).then(failed(MAX_PIN_ATTEMPTS + 1));
  });

  it('starts counting again after a successful authentication', () => {
    device
      .given(...active, ...badPins(MAX_PIN_ATTEMPTS - 1), authenticated)
      .when(command.RecordDeviceAuthenticationFailure)
      .then(failed(1));
  });

  it('starts counting again after the PIN is unblocked', () => {
    device.given(...locked, unblocked).when(command.RecordDeviceAuthenticationFailure).then(failed(1));
  });

  it.each(['INITIALIZED', 'DISTRIBUTED', 'LOST', 'FROZEN'] as const)(
    'records a failure on a %s device too: the audit must see it',
    (status) => {
      device.given(...history[status]).when(failure('UNKNOWN_CREDENTIAL')).then(failed(1, 'UNKNOWN_CREDENTIAL'));
    },
  );

  it('locks a lost device whose finder guesses PINs', () => {
    device
      .given(...history.LOST, ...badPins(MAX_PIN_ATTEMPTS - 1))
      .when(command.RecordDeviceAuthenticationFailure)
      .then(failed(MAX_PIN_ATTEMPTS), pinLocked(MAX_PIN_ATTEMPTS));
  });

  it.each([
    [{ reason: 'WRONG_PIN' }, 'data.reason', /one of BAD_PIN, BAD_PROOF, UNKNOWN_CREDENTIAL/],
    [{ chargerId: undefined }, 'data.chargerId', /is required \(an identifier/],
    [{ chargeId: undefined }, 'data.chargeId', /is required \(an identifier/],
  ])('refuses %j, naming %s and its rule', (patch, field, rule) => {
    const error = device
      .given(...active)
      .when(withData('RecordDeviceAuthenticationFailure', patch))
      .thenError('INVALID_INPUT', field);
    expect(error.issues).toEqual([{ field, rule: expect.stringMatching(rule) }]);
  });
});

describe('RecordDeviceAuthenticated', () => {
  it('records a successful authentication of an active device', () => {
    device.given(...active, ...badPins(2)).when(command.RecordDeviceAuthenticated).then(authenticated);
  });

  it.each([
    ['INITIALIZED', /distribute and bind it first/],
    ['DISTRIBUTED', /bind it to a user first/],
    ['LOST', /cancel the loss report first/],
    ['FROZEN', /restore it first/],
  ] as const)('refuses a %s device: only an active device authenticates', (status, hint) => {
    const error = device
      .given(...history[status])
      .when(command.RecordDeviceAuthenticated)
      .thenError('INVALID_STATE', hint);
    expect(error.message).toMatch(`cannot authenticate device UKEY-000001 while it is ${status}`);
  });

  it('refuses a PIN-locked device, advising to unblock it', () => {
    device
      .given(...locked)
      .when(command.RecordDeviceAuthenticated)
      .thenError('INVALID_STATE', `cannot authenticate device ${serial} while it is PIN-locked; unblock its PIN first`);
  });

  it('refuses an empty charger id', () => {
    device
      .given(...active)
      .when(withData('RecordDeviceAuthenticated', { chargerId: '' }))
      .thenError('INVALID_INPUT', /data.chargerId: must be an identifier/);
  });

  it('refuses an authentication that names no charge: a kiosk checks a device at the start of a charge', () => {
    device
      .given(...active)
      .when(withData('RecordDeviceAuthenticated', { chargeId: undefined }))
      .thenError('INVALID_INPUT', /data.chargeId: is required \(an identifier/);
  });
});

describe('UnblockDevicePin', () => {
  it('unblocks a PIN-locked device', () => {
    device.given(...locked).when(command.UnblockDevicePin).then(unblocked);
  });

  it('unblocks a PIN-locked device that is frozen as well', () => {
    device.given(...locked, frozen).when(command.UnblockDevicePin).then(unblocked);
  });

  it.each([
    ['never locked', [...active, ...badPins(MAX_PIN_ATTEMPTS - 1)]],
    ['unblocked already', [...locked, unblocked]],
  ])('refuses a device whose PIN is %s', (_, given) => {
    device
      .given(...given)
      .when(command.UnblockDevicePin)
      .thenError('INVALID_STATE', `cannot unblock the PIN of device ${serial} while it is not PIN-locked; nothing to`);
  });

  it('refuses a serial that is too short', () => {
    device
      .given(...locked)
      .when(withData('UnblockDevicePin', { serial: 'A1' }))
      .thenError('INVALID_INPUT', /data.serial: must be a device serial number: 6 to 32 characters/);
  });
});

describe('evolve', () => {
  it('starts with no device', () => {
    expect(stateAfter([])).toEqual({ status: 'NONE', pinFailures: 0, consecutiveFailures: 0, pinLocked: false });
  });

  it('folds initialization, distribution and binding into an active device', () => {
    expect(stateAfter(active)).toEqual({
      status: 'ACTIVE',
      serial,
      kind: 'UKEY',
      credentialKind: 'CERTIFICATE',
      credentialFingerprint: fingerprint,
      organisation: 'grid-north',
      userId: 'alice',
      pinFailures: 0,
      consecutiveFailures: 0,
      pinLocked: false,
    });
  });

  it.each([
    ['a loss report and its cancellation', [reportedLost, lossCancelled], 'ACTIVE'],
    ['a freeze and a restore', [frozen, restored], 'ACTIVE'],
    ['a loss report', [reportedLost], 'LOST'],
    ['a freeze', [frozen], 'FROZEN'],
    ['a loss report then destruction', [reportedLost, destroyed], 'DESTROYED'],
  ] as const)('follows %s', (_, events, status) => {
    expect(stateAfter([...active, ...events])).toMatchObject({ status, serial, userId: 'alice' });
  });

  it('counts wrong PINs and all failures separately', () => {
    const state = stateAfter([...active, failed(1), failed(2, 'BAD_PROOF'), failed(3)]);
    expect(state).toMatchObject({ pinFailures: 2, consecutiveFailures: 3, pinLocked: false });
  });

  it('keeps a PIN lock through a freeze and a restore', () => {
    expect(stateAfter([...locked, frozen, restored])).toMatchObject({
      status: 'ACTIVE',
      pinLocked: true,
      pinFailures: MAX_PIN_ATTEMPTS,
    });
  });

  it('clears the counts on success and the lock on unblock', () => {
    expect(stateAfter([...active, ...badPins(3), authenticated])).toMatchObject({
      pinFailures: 0,
      consecutiveFailures: 0,
    });
    expect(stateAfter([...locked, failed(6), unblocked])).toMatchObject({
      pinLocked: false,
      pinFailures: 0,
      consecutiveFailures: 0,
    });
  });
});

describe('any sequence of commands', () => {
  // Each command is valid input; the property is about the state machine, not the codecs.
  const anyCommand = fc.oneof(
    ...Object.values(command).map((c) => ({ arbitrary: fc.constant<unknown>(c), weight: 1 })),
    { arbitrary: fc.constant<unknown>(failure('BAD_PIN')), weight: 4 },
    { arbitrary: fc.constant<unknown>(failure('BAD_PROOF')), weight: 1 },
  );
  const moves = new Set([
    'NONE>INITIALIZED',
    'INITIALIZED>DISTRIBUTED',
    'DISTRIBUTED>ACTIVE',
    'ACTIVE>LOST',
    'LOST>ACTIVE',
    'ACTIVE>FROZEN',
    'FROZEN>ACTIVE',
    ...['INITIALIZED', 'DISTRIBUTED', 'ACTIVE', 'LOST', 'FROZEN'].map((from) => `${from}>DESTROYED`),
  ]);

  it('follows the lifecycle, never unlocks without an unblock, and never revives a destroyed device', () => {
    let locks = 0;
    const visited = new Set<DeviceStatus>();
    fc.assert(
      fc.property(fc.array(anyCommand, { maxLength: 60, size: 'max' }), (inputs) => {
        let state = deviceAggregate.initialState;
        for (const input of [command.InitializeDevice, ...inputs]) {
          const decided = E.chain((c: DeviceCommand) => deviceAggregate.decide(c, state))(
            decodeMessage<DeviceCommand>(deviceAggregate.commandCodecs, input, 'device command'),
          );
          if (state.status === 'DESTROYED') expect(E.isLeft(decided)).toBe(true);
          if (E.isLeft(decided)) continue;
          for (const event of decided.right) {
            expect(E.isRight(decodeMessage(deviceAggregate.eventCodecs, event, 'device event'))).toBe(true);
            if (event.type === 'DevicePinLocked') {
              expect(state.pinLocked).toBe(false);
              locks += 1;
            }
          }
          const next = decided.right.reduce(deviceAggregate.evolve, state);
          if (next.status !== state.status) expect(moves).toContain(`${state.status}>${next.status}`);
          if (state.pinLocked && !decided.right.some((e) => e.type === 'DevicePinUnblocked')) {
            expect(next.pinLocked).toBe(true);
          }
          expect(next.pinLocked || next.pinFailures < MAX_PIN_ATTEMPTS).toBe(true);
          state = next;
          visited.add(state.status);
        }
      }),
      { numRuns: 300 },
    );
    // The property is only meaningful if the runs reached every status and the lock.
    expect(locks).toBeGreaterThan(0);
    expect([...visited].sort()).toEqual(Object.keys(history).sort());
  });
});
