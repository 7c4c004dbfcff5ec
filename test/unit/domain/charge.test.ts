import * as E from 'fp-ts/Either';
import { ChargerState, ChargerStatus, initialChargerState } from '../../../domain/charger/state';
import {
  ChargeCommand,
  ChargeEvent,
  chargeAggregate,
  chargeFailureCodes,
  ChargeState,
  initialChargeState,
} from '../../../domain/charge';
import { DeviceState, DeviceStatus, initialDeviceState } from '../../../domain/device/state';
import { RangeStatus } from '../../../domain/keypool';
import { fold } from '../../../domain/shared/aggregate';
import { decodeMessage } from '../../../domain/shared/codec';
import { scenario } from '../../support/given-when-then';

const chargeId = 'charge-1';
const deviceSerial = 'UKEY-000001';
const chargerId = 'kiosk-7';
const sourceId = 'bb84-link-1';
const commitment = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

// Built on the initial states, so fields the device and charger aggregates add keep their defaults.
const activeDevice: DeviceState = {
  ...initialDeviceState,
  status: 'ACTIVE',
  serial: deviceSerial,
  kind: 'UKEY',
  credentialKind: 'CERTIFICATE',
  organisation: 'grid-east',
  userId: 'user-1',
};
const attestedCharger: ChargerState = {
  ...initialChargerState,
  status: 'ATTESTED',
  chargerId,
  location: 'substation 4',
  golden: { bootModule: 'a'.repeat(64), operatingSystem: 'b'.repeat(64), application: 'c'.repeat(64) },
};

/**
 * Scenarios decide with the charge folded from the given events, this device and charger, and the
 * ranges it delivered issued to the device unless `pool` says where they are instead.
 */
const deciding = (device: DeviceState, charger: ChargerState, pool: Readonly<Record<string, RangeStatus>> = {}) =>
  scenario(chargeAggregate, (charge) => ({
    charge,
    device,
    charger,
    rangeStatus: new Map((charge.status === 'NONE' ? [] : (charge.ranges ?? [])).map(({ rangeId }) => [rangeId, pool[rangeId] ?? 'ISSUED'])),
  }));
const given = (...events: ChargeEvent[]) => ({
  ...deciding(activeDevice, attestedCharger).given(...events),
  with: (device: DeviceState, charger: ChargerState) => deciding(device, charger).given(...events),
  withPool: (pool: Readonly<Record<string, RangeStatus>>) => deciding(activeDevice, attestedCharger, pool).given(...events),
});

const started: ChargeEvent = {
  type: 'ChargeStarted',
  data: { chargeId, deviceSerial, chargerId, sourceId, bytes: 1000 },
};
const verified: ChargeEvent = { type: 'ChargeDeviceVerified', data: { chargeId, deviceSerial, method: 'CERTIFICATE' } };
const delivered = (rangeId: string, offset: number, length: number): ChargeEvent => ({
  type: 'ChargeKeysDelivered',
  data: { chargeId, sourceId, rangeId, offset, length, commitment: commitment(offset % 256) },
});
const completed: ChargeEvent = {
  type: 'ChargeCompleted',
  data: { chargeId, deviceSerial, chargerId, bytes: 1000, deviceAcknowledgement: commitment(0xac) },
};
const failed = (reason: string, rangeIds: string[] = []): ChargeEvent => ({
  type: 'ChargeFailed',
  data: {
    chargeId,
    deviceSerial,
    chargerId,
    reason,
    rangesToDestroy: rangeIds.map((rangeId) => ({ sourceId, rangeId })),
  },
});

const start = { type: 'StartCharge', data: { chargeId, deviceSerial, chargerId, sourceId, bytes: 1000 } };
const verify = (isVerified = true) => ({
  type: 'RecordChargeDeviceVerification',
  data: { chargeId, verified: isVerified, method: 'CERTIFICATE' },
});
const deliver = (rangeId: string, offset: number, length: number) => ({
  type: 'DeliverChargeKeys',
  data: delivered(rangeId, offset, length).data,
});
const complete = { type: 'CompleteCharge', data: { chargeId, deviceAcknowledgement: commitment(0xac) } };
const fail = { type: 'FailCharge', data: { chargeId, reason: 'kiosk lost power' } };

// The charge in each status it can reach; KEYS_DELIVERED holds r1 = 600 of the 1000 bytes.
const history = {
  STARTED: [started],
  DEVICE_VERIFIED: [started, verified],
  KEYS_DELIVERED: [started, verified, delivered('r1', 0, 600)],
  COMPLETED: [started, verified, delivered('r1', 0, 600), delivered('r2', 600, 400), completed],
  FAILED: [started, failed('kiosk lost power')],
};

/** [what the charge meets, device, charger, the reason it fails with] */
type Distrust = [string, DeviceState, ChargerState, string];
const untrusted: Distrust[] = [
  ...(['REGISTERED', 'ATTESTATION_FAILED', 'REVOKED'] as ChargerStatus[]).map(
    (status): Distrust => [`a ${status} charger`, activeDevice, { ...attestedCharger, status }, 'CHARGER_NOT_ATTESTED'],
  ),
  ...(['INITIALIZED', 'DISTRIBUTED', 'LOST', 'FROZEN', 'DESTROYED'] as DeviceStatus[]).map(
    (status): Distrust => [`a ${status} device`, { ...activeDevice, status }, attestedCharger, 'DEVICE_NOT_ACTIVE'],
  ),
  ['a PIN-locked device', { ...activeDevice, pinFailures: 5, pinLocked: true }, attestedCharger, 'DEVICE_PIN_LOCKED'],
];

describe('charge: StartCharge', () => {
  it('starts a charge of an active device at an attested charger', () => {
    given().when(start).then(started);
  });

  it.each(untrusted)('records a refused attempt with %s as a failed charge', (_, device, charger, reason) => {
    given().with(device, charger).when(start).then(failed(reason));
  });

  it('names the charger first when neither charger nor device can be trusted', () => {
    given()
      .with({ ...activeDevice, status: 'LOST', pinLocked: true }, { ...attestedCharger, status: 'REVOKED' })
      .when(start)
      .then(failed('CHARGER_NOT_ATTESTED'));
  });

  const everyStatus = Object.keys(history) as (keyof typeof history)[];
  it.each(everyStatus)('refuses a charge id taken by a charge that is %s', (status) => {
    given(...history[status])
      .when(start)
      .thenError('ALREADY_EXISTS', `charge ${chargeId} already exists; choose another id`);
  });

  it('refuses a charge id used by a refused attempt', () => {
    given(failed('CHARGER_NOT_ATTESTED')).when(start).thenError('ALREADY_EXISTS', /choose another id/);
  });

  it('refuses a device that does not exist', () => {
    given()
      .with(initialDeviceState, attestedCharger)
      .when(start)
      .thenError('NOT_FOUND', `device ${deviceSerial} does not exist; initialize, distribute and bind it first`);
  });

  it('refuses a charger that does not exist', () => {
    given()
      .with(activeDevice, initialChargerState)
      .when(start)
      .thenError('NOT_FOUND', `charger ${chargerId} does not exist; register and attest it first`);
  });

  it('names each malformed field and its rule', () => {
    const error = given()
      .when({ type: 'StartCharge', data: { ...start.data, deviceSerial: 'ukey-1', bytes: 0, sourceId: undefined } })
      .thenError('INVALID_INPUT');
    expect(error.issues).toEqual([
      { field: 'data.deviceSerial', rule: expect.stringMatching(/^must be a device serial number/) },
      { field: 'data.sourceId', rule: expect.stringMatching(/^is required \(an identifier/) },
      { field: 'data.bytes', rule: 'must be a whole number of bytes from 1 to 9437184 (9 MiB)' },
    ]);
  });

  it("refuses more than the paper's largest charging volume, 9 MiB", () => {
    given()
      .when({ type: 'StartCharge', data: { ...start.data, bytes: 9 * 1024 * 1024 } })
      .then({ ...started, data: { ...started.data, bytes: 9 * 1024 * 1024 } } as ChargeEvent);
    const error = given().when({ type: 'StartCharge', data: { ...start.data, bytes: 9 * 1024 * 1024 + 1 } }).thenError('INVALID_INPUT');
    expect(error.issues).toEqual([{ field: 'data.bytes', rule: 'must be a whole number of bytes from 1 to 9437184 (9 MiB)' }]);
  });
});

describe('charge: RecordChargeDeviceVerification', () => {
  it('records the device proof the platform accepted', () => {
    given(started).when(verify()).then(verified);
  });

  it('records a qk-string proof with its method', () => {
    given(started)
      .when({ type: 'RecordChargeDeviceVerification', data: { chargeId, verified: true, method: 'QK_STRING' } })
      .then({ type: 'ChargeDeviceVerified', data: { chargeId, deviceSerial, method: 'QK_STRING' } });
  });

  it('fails the charge when the device proof is rejected', () => {
    given(started).when(verify(false)).then(failed('DEVICE_PROOF_REJECTED'));
  });

  it.each(untrusted)('fails the charge when it meets %s', (_, device, charger, reason) => {
    given(started).with(device, charger).when(verify()).then(failed(reason));
  });

  it.each(['DEVICE_VERIFIED', 'KEYS_DELIVERED'] as const)('refuses a charge that is %s: verified once', (status) => {
    given(...history[status])
      .when(verify())
      .thenError(
        'INVALID_STATE',
        `cannot record the device verification of charge ${chargeId} while it is ${status}; ` +
          'the device is verified once per charge',
      );
  });

  it('names each malformed field and its rule', () => {
    const error = given(started)
      .when({ type: 'RecordChargeDeviceVerification', data: { chargeId, verified: 'yes', method: 'PASSWORD' } })
      .thenError('INVALID_INPUT');
    expect(error.issues).toEqual([
      { field: 'data.verified', rule: 'must be true or false' },
      { field: 'data.method', rule: 'must be one of CERTIFICATE, QK_STRING' },
    ]);
  });
});

describe('charge: DeliverChargeKeys', () => {
  it('records the first range after the device is verified', () => {
    given(...history.DEVICE_VERIFIED).when(deliver('r1', 0, 600)).then(delivered('r1', 0, 600));
  });

  it('records further ranges up to the bytes asked for', () => {
    given(...history.KEYS_DELIVERED).when(deliver('r2', 4096, 400)).then(delivered('r2', 4096, 400));
  });

  it('fails the charge, destroying the new range too, when a range it delivered was destroyed since', () => {
    given(...history.KEYS_DELIVERED)
      .withPool({ r1: 'DESTROYED' })
      .when(deliver('r2', 4096, 400))
      .then(failed('DELIVERED_KEY_DESTROYED', ['r1', 'r2']));
  });

  it('refuses before the device is verified', () => {
    given(started)
      .when(deliver('r1', 0, 600))
      .thenError(
        'INVALID_STATE',
        `cannot deliver keys to charge ${chargeId} while it is STARTED; verify the device first`,
      );
  });

  it('refuses more bytes than the charge asked for, with the numbers', () => {
    const error = given(...history.KEYS_DELIVERED).when(deliver('r2', 600, 401)).thenError('INVALID_INPUT');
    expect(error.issues).toEqual([
      { field: 'data.length', rule: 'must be at most 400: the charge asked for 1000 bytes and 600 are delivered' },
    ]);
  });

  it('refuses the same range twice', () => {
    given(...history.KEYS_DELIVERED)
      .when(deliver('r1', 0, 100))
      .thenError(
        'INVALID_STATE',
        /cannot deliver key range r1 again to charge charge-1 while it is KEYS_DELIVERED; a range is delivered once/,
      );
  });

  it('refuses a range from another key pool', () => {
    const error = given(...history.DEVICE_VERIFIED)
      .when({ type: 'DeliverChargeKeys', data: { ...deliver('r1', 0, 600).data, sourceId: 'other-link' } })
      .thenError('INVALID_INPUT');
    expect(error.issues).toEqual([
      { field: 'data.sourceId', rule: `must be ${sourceId}, the key pool this charge draws from` },
    ]);
  });

  it.each(untrusted)('fails the charge when it meets %s, destroying all it sent', (_, device, charger, reason) => {
    given(...history.KEYS_DELIVERED)
      .with(device, charger)
      .when(deliver('r2', 600, 400))
      .then(failed(reason, ['r1', 'r2']));
  });

  it('names each malformed field and its rule', () => {
    const error = given(...history.DEVICE_VERIFIED)
      .when({
        type: 'DeliverChargeKeys',
        data: { ...deliver('r1', 0, 600).data, offset: -1, commitment: 'not-a-digest' },
      })
      .thenError('INVALID_INPUT');
    expect(error.issues).toEqual([
      { field: 'data.offset', rule: 'must be a whole number of 0 or more' },
      { field: 'data.commitment', rule: 'must be a SHA-256 digest as 64 lowercase hex characters' },
    ]);
  });
});

describe('charge: CompleteCharge', () => {
  const fullyDelivered = [...history.KEYS_DELIVERED, delivered('r2', 600, 400)];

  it('completes when every byte asked for is delivered', () => {
    given(...fullyDelivered).when(complete).then(completed);
  });

  it('refuses while bytes are missing, with the numbers', () => {
    given(...history.KEYS_DELIVERED)
      .when(complete)
      .thenError('INVALID_STATE', /600 of 1000 bytes are delivered; deliver the remaining 400 bytes first/);
  });

  it.each(['STARTED', 'DEVICE_VERIFIED'] as const)('refuses a charge that is %s', (status) => {
    given(...history[status])
      .when(complete)
      .thenError('INVALID_STATE', `cannot complete charge ${chargeId} while it is ${status}; deliver keys first`);
  });

  it.each(untrusted)('fails the charge when it meets %s, destroying all it delivered', (_, device, charger, reason) => {
    given(...fullyDelivered).with(device, charger).when(complete).then(failed(reason, ['r1', 'r2']));
  });

  it.each(['DESTROYED', 'RELEASED'] as const)('fails, never completes, a charge one of whose ranges is %s: that key is no longer the device\'s', (status) => {
    given(...fullyDelivered).withPool({ r2: status }).when(complete).then(failed('DELIVERED_KEY_DESTROYED', ['r1', 'r2']));
  });

  it('refuses while a range is still being delivered, saying what to do', () => {
    given(...fullyDelivered)
      .withPool({ r2: 'RESERVED' })
      .when(complete)
      .thenError(
        'INVALID_STATE',
        `cannot complete charge ${chargeId} while it is KEYS_DELIVERED; key range r2 is still being delivered; ` +
          'complete the charge once chargeKeys has answered, or fail it if chargeKeys gave no keys',
      );
  });

  it('completes a charge whose keys the device has begun to use', () => {
    given(...fullyDelivered).withPool({ r1: 'CONSUMED' }).when(complete).then(completed);
  });

  it('names a malformed acknowledgement', () => {
    const error = given(...fullyDelivered)
      .when({ type: 'CompleteCharge', data: { chargeId, deviceAcknowledgement: 'AC'.repeat(32) } })
      .thenError('INVALID_INPUT');
    expect(error.issues).toEqual([
      { field: 'data.deviceAcknowledgement', rule: 'must be a SHA-256 digest as 64 lowercase hex characters' },
    ]);
  });
});

describe('charge: FailCharge', () => {
  it('fails a started charge with nothing to destroy', () => {
    given(started).when(fail).then(failed('kiosk lost power'));
  });

  it('fails a verified charge with nothing to destroy', () => {
    given(...history.DEVICE_VERIFIED).when(fail).then(failed('kiosk lost power'));
  });

  it('fails a charge with keys delivered and destroys every delivered range, never releases it', () => {
    given(...history.KEYS_DELIVERED, delivered('r2', 600, 100))
      .when(fail)
      .then(failed('kiosk lost power', ['r1', 'r2']));
  });

  it('fails a charge even when device and charger are no longer trusted', () => {
    given(...history.KEYS_DELIVERED)
      .with({ ...activeDevice, status: 'LOST' }, { ...attestedCharger, status: 'REVOKED' })
      .when(fail)
      .then(failed('kiosk lost power', ['r1']));
  });

  it('names a blank reason', () => {
    const error = given(started)
      .when({ type: 'FailCharge', data: { chargeId, reason: '' } })
      .thenError('INVALID_INPUT');
    expect(error.issues).toEqual([{ field: 'data.reason', rule: 'must be text of 1 to 200 characters' }]);
  });
});

describe('charge: every command but StartCharge', () => {
  describe.each([
    ['RecordChargeDeviceVerification', verify(), 'record the device verification of'],
    ['DeliverChargeKeys', deliver('r3', 0, 10), 'deliver keys to'],
    ['CompleteCharge', complete, 'complete'],
    ['FailCharge', fail, 'fail'],
  ])('%s', (_, input, action) => {
    it.each(['COMPLETED', 'FAILED'] as const)('refuses a charge that is %s: it is final', (status) => {
      given(...history[status])
        .when(input)
        .thenError(
          'INVALID_STATE',
          `cannot ${action} charge ${chargeId} while it is ${status}; a finished charge is final; start a new charge`,
        );
    });

    it('refuses a refused attempt, which is final too', () => {
      given(failed('DEVICE_PIN_LOCKED')).when(input).thenError('INVALID_STATE', /while it is FAILED/);
    });

    it('refuses an unknown charge', () => {
      const error = given().when(input).thenError('NOT_FOUND', `charge ${chargeId} does not exist; start it first`);
      expect(error.details).toEqual({ entity: 'charge', id: chargeId });
    });
  });
});

describe('charge: evolve', () => {
  const stateAfter = (...events: ChargeEvent[]): ChargeState =>
    fold(chargeAggregate.evolve, initialChargeState, events);

  it('folds a charge in progress', () => {
    expect(stateAfter(...history.KEYS_DELIVERED, delivered('r2', 600, 100))).toEqual({
      status: 'KEYS_DELIVERED',
      chargeId,
      deviceSerial,
      chargerId,
      sourceId,
      bytes: 1000,
      delivered: 700,
      ranges: [
        { sourceId, rangeId: 'r1' },
        { sourceId, rangeId: 'r2' },
      ],
      method: 'CERTIFICATE',
    });
  });

  it('folds a completed charge', () => {
    expect(stateAfter(...history.COMPLETED)).toMatchObject({ status: 'COMPLETED', delivered: 1000, bytes: 1000 });
  });

  it('keeps what a failed charge had delivered, and why it failed', () => {
    expect(stateAfter(...history.KEYS_DELIVERED, failed('kiosk lost power', ['r1']))).toMatchObject({
      status: 'FAILED',
      reason: 'kiosk lost power',
      delivered: 600,
      ranges: [{ sourceId, rangeId: 'r1' }],
    });
  });

  it('folds a refused attempt into a failed charge that names device and charger', () => {
    expect(stateAfter(failed('CHARGER_NOT_ATTESTED'))).toEqual({
      status: 'FAILED',
      chargeId,
      deviceSerial,
      chargerId,
      reason: 'CHARGER_NOT_ATTESTED',
    });
  });
});

describe('charge: ChargeFailed reason', () => {
  const decodeFailed = (reason: unknown) => {
    const event = failed('x');
    const input = { ...event, data: { ...event.data, reason } };
    return decodeMessage<ChargeEvent>(chargeAggregate.eventCodecs, input, 'charge event');
  };

  it.each([...chargeFailureCodes, 'kiosk lost power'])('admits %s', (reason) => {
    expect(E.isRight(decodeFailed(reason))).toBe(true);
  });

  it('rejects a blank reason, naming the codes and the text rule', () => {
    const result = decodeFailed('  ');
    expect(E.isLeft(result) && result.left.issues).toEqual([
      { field: 'data.reason', rule: `must be one of ${chargeFailureCodes.join(', ')}, or text of 1 to 200 characters` },
    ]);
  });
});

describe('charge: routing', () => {
  it('addresses each command to the stream of its charge', () => {
    const commands: ChargeCommand[] = [
      { type: 'CompleteCharge', data: { chargeId: 'charge-42', deviceAcknowledgement: commitment(1) } },
      { type: 'FailCharge', data: { chargeId: 'charge-43', reason: 'x' } },
    ];
    expect(commands.map(chargeAggregate.targetOf)).toEqual(['charge-42', 'charge-43']);
    expect(chargeAggregate.streamPrefix).toBe('charge');
  });
});
