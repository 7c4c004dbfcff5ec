import { createHash } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { streamOf } from '../../../domain/shared/aggregate';
import { decodeMessage } from '../../../domain/shared/codec';
import {
  BOOT_STAGES,
  BootMeasurements,
  BootStage,
  chargerAggregate,
  ChargerCommand,
  ChargerEvent,
  ChargerState,
  mismatchedStages,
} from '../../../domain/charger';
import { scenario } from '../../support/given-when-then';

const charger = scenario(chargerAggregate);

const chargerId = 'qkc-substation-7';
const location = 'Substation 7, control room';
const digest = (text: string) => createHash('sha256').update(text).digest('hex');
const golden: BootMeasurements = {
  bootModule: digest('boot module 1.4'),
  operatingSystem: digest('embedded OS 5.10'),
  application: digest('charging application 2.0'),
};
/** The golden chain with the given stages measured as something else. */
const tampered = (...stages: BootStage[]): BootMeasurements =>
  stages.reduce((m, stage) => ({ ...m, [stage]: digest(`tampered ${stage}`) }), golden);

const registered: ChargerEvent = { type: 'ChargerRegistered', data: { chargerId, location, golden } };
const attested: ChargerEvent = { type: 'ChargerAttested', data: { chargerId } };
const attestationFailed = (...mismatched: BootStage[]): ChargerEvent => ({
  type: 'ChargerAttestationFailed',
  data: { chargerId, mismatched },
});
const revoked: ChargerEvent = { type: 'ChargerRevoked', data: { chargerId, reason: 'decommissioned' } };

const history = {
  REGISTERED: [registered],
  ATTESTED: [registered, attested],
  ATTESTATION_FAILED: [registered, attestationFailed('application')],
  REVOKED: [registered, attested, revoked],
} as const;
type Existing = keyof typeof history;
const existing = Object.keys(history) as Existing[];
const live = existing.filter((status) => status !== 'REVOKED');

const command = {
  RegisterCharger: { type: 'RegisterCharger', data: { chargerId, location, golden } },
  AttestCharger: { type: 'AttestCharger', data: { chargerId, measurements: golden } },
  RevokeCharger: { type: 'RevokeCharger', data: { chargerId, reason: 'decommissioned' } },
} as const;
type CommandType = keyof typeof command;

const withData = (type: CommandType, data: Record<string, unknown>) => ({
  type,
  data: { ...command[type].data, ...data },
});
const attest = (measurements: unknown) => withData('AttestCharger', { measurements });
const stateAfter = (events: readonly ChargerEvent[]): ChargerState =>
  events.reduce(chargerAggregate.evolve, chargerAggregate.initialState);

describe('charger aggregate wiring', () => {
  it('lives in charger-<id> streams and routes every command by its charger id', () => {
    for (const type of Object.keys(command) as CommandType[]) {
      const decoded = decodeMessage<ChargerCommand>(chargerAggregate.commandCodecs, command[type], 'charger command');
      expect(E.isRight(decoded) && chargerAggregate.targetOf(decoded.right)).toBe(chargerId);
    }
    expect(streamOf(chargerAggregate, chargerId)).toBe('charger-qkc-substation-7');
  });

  it('registers each codec under its own message type', () => {
    for (const codecs of [chargerAggregate.commandCodecs, chargerAggregate.eventCodecs]) {
      for (const [type, codec] of Object.entries(codecs)) expect(codec.name).toBe(type);
    }
  });

  it('refuses an unknown command type, listing the known ones', () => {
    charger
      .given(...history.ATTESTED)
      .when({ type: 'UpdateChargerGoldenValues', data: { chargerId } })
      .thenError('INVALID_INPUT', 'type: must be one of the charger command types: RegisterCharger, AttestCharger');
  });
});

describe('RegisterCharger', () => {
  it('registers a charger with the golden values of its boot chain', () => {
    charger.given().when(command.RegisterCharger).then(registered);
  });

  it.each(existing)('refuses an id already used by a %s charger', (status) => {
    const error = charger
      .given(...history[status])
      .when(command.RegisterCharger)
      .thenError('ALREADY_EXISTS', 'charger qkc-substation-7 already exists; choose another id');
    expect(error.details).toEqual({ entity: 'charger', id: chargerId });
  });

  it.each([
    [{ chargerId: 'qkc 7' }, 'data.chargerId', /must be an identifier/],
    [{ location: '' }, 'data.location', /must be text of 1 to 200 characters/],
    [{ golden: { ...golden, operatingSystem: 'not-a-digest' } }, 'data.golden.operatingSystem', /SHA-256 digest/],
    [{ golden: { bootModule: golden.bootModule } }, 'data.golden.operatingSystem', /is required \(a SHA-256 digest/],
    [{ golden: undefined }, 'data.golden', /is required \(boot measurements\)/],
  ])('refuses %j, naming %s and its rule', (patch, field, rule) => {
    const error = charger.given().when(withData('RegisterCharger', patch)).thenError('INVALID_INPUT', field);
    expect(error.issues).toContainEqual({ field, rule: expect.stringMatching(rule) });
  });
});

describe('AttestCharger', () => {
  it.each(live)('attests a %s charger whose boot chain matches its golden values', (status) => {
    charger.given(...history[status]).when(command.AttestCharger).then(attested);
  });

  it.each(BOOT_STAGES.map((stage) => [stage]))(
    'records a failed attestation naming a tampered %s, without refusing the command',
    (stage) => {
      charger.given(...history.REGISTERED).when(attest(tampered(stage))).then(attestationFailed(stage));
    },
  );

  it('names every mismatched stage, in boot order', () => {
    charger
      .given(...history.ATTESTED)
      .when(attest(tampered('application', 'bootModule')))
      .then(attestationFailed('bootModule', 'application'));
    charger
      .given(...history.ATTESTATION_FAILED)
      .when(attest(tampered(...BOOT_STAGES)))
      .then(attestationFailed(...BOOT_STAGES));
  });

  it('drops an attested charger back to ATTESTATION_FAILED when a later attestation fails', () => {
    expect(stateAfter([...history.ATTESTED, attestationFailed('operatingSystem')]).status).toBe('ATTESTATION_FAILED');
  });

  it('refuses a charger that does not exist, advising to register it', () => {
    const error = charger
      .given()
      .when(command.AttestCharger)
      .thenError('NOT_FOUND', 'charger qkc-substation-7 does not exist; register it with its golden values first');
    expect(error.details).toEqual({ entity: 'charger', id: chargerId });
  });

  it('refuses a revoked charger: revocation is final', () => {
    charger
      .given(...history.REVOKED)
      .when(command.AttestCharger)
      .thenError(
        'INVALID_STATE',
        'cannot attest charger qkc-substation-7 while it is REVOKED; a revoked charger stays revoked; register',
      );
  });

  it('refuses measurements that are not digests, naming the stage', () => {
    const error = charger
      .given(...history.REGISTERED)
      .when(attest({ ...golden, application: golden.application.toUpperCase() }))
      .thenError('INVALID_INPUT');
    expect(error.issues).toEqual([
      { field: 'data.measurements.application', rule: 'must be a SHA-256 digest as 64 lowercase hex characters' },
    ]);
  });
});

describe('RevokeCharger', () => {
  it.each(live)('revokes a %s charger', (status) => {
    charger.given(...history[status]).when(command.RevokeCharger).then(revoked);
  });

  it('refuses to revoke twice', () => {
    charger
      .given(...history.REVOKED)
      .when(command.RevokeCharger)
      .thenError('INVALID_STATE', 'cannot revoke charger qkc-substation-7 while it is REVOKED; it is revoked already');
  });

  it('refuses a charger that does not exist, advising to check the id', () => {
    charger
      .given()
      .when(command.RevokeCharger)
      .thenError('NOT_FOUND', 'charger qkc-substation-7 does not exist; check the charger id');
  });

  it('refuses a missing reason', () => {
    const error = charger
      .given(...history.ATTESTED)
      .when({ type: 'RevokeCharger', data: { chargerId } })
      .thenError('INVALID_INPUT');
    expect(error.issues).toEqual([{ field: 'data.reason', rule: 'is required (text of 1 to 200 characters)' }]);
  });
});

describe('ChargerAttestationFailed', () => {
  it.each([
    [[], /non-empty list of distinct boot stages/],
    [['application', 'application'], /non-empty list of distinct boot stages/],
    [['kernel'], /one of bootModule, operatingSystem, application/],
  ])('is not a valid event with mismatched = %j', (mismatched, rule) => {
    const decoded = decodeMessage(
      chargerAggregate.eventCodecs,
      { type: 'ChargerAttestationFailed', data: { chargerId, mismatched } },
      'charger event',
    );
    expect(E.isLeft(decoded) && decoded.left.message).toMatch(rule);
  });
});

describe('mismatchedStages', () => {
  it('is empty for an intact chain and fails closed without golden values', () => {
    expect(mismatchedStages(golden, golden)).toEqual([]);
    expect(mismatchedStages(undefined, golden)).toEqual([...BOOT_STAGES]);
  });
});

describe('evolve', () => {
  it('starts with no charger', () => {
    expect(stateAfter([])).toEqual({ status: 'NONE' });
  });

  it('keeps what registration says about the charger', () => {
    expect(stateAfter(history.REGISTERED)).toEqual({ status: 'REGISTERED', chargerId, location, golden });
  });

  it.each([
    ['an attestation', [attested], 'ATTESTED'],
    ['a failed attestation', [attestationFailed('bootModule')], 'ATTESTATION_FAILED'],
    ['a failure then a good attestation', [attestationFailed('bootModule'), attested], 'ATTESTED'],
    ['a revocation after attestation', [attested, revoked], 'REVOKED'],
  ] as const)('follows %s', (_, events, status) => {
    expect(stateAfter([registered, ...events])).toEqual({ status, chargerId, location, golden });
  });
});
