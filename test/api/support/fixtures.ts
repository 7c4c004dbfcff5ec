import { mutationName } from '../../../api/resolvers/commands';
import type { Platform } from './platform';

// For each operation, the state it needs and the arguments that make it succeed for the roles
// the policy grants it to: a CHARGER acts on its own charger, charges and ranges.

export const FINGERPRINT = 'f'.repeat(64);
export const COMMITMENT = 'c'.repeat(64);
export const GOLDEN = { bootModule: '1'.repeat(64), operatingSystem: '2'.repeat(64), application: '3'.repeat(64) };

type Input = Record<string, unknown>;
type Fixture = (p: Platform) => Promise<Input>;

const BYTES = 1024;

export const mutationFixtures: Record<string, Fixture> = {
  // device
  InitializeDevice: async (p) => ({ serial: p.newSerial(), kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: FINGERPRINT }),
  DistributeDevice: async (p) => ({ serial: await p.device('INITIALIZED'), organisation: 'grid-east' }),
  BindDevice: async (p) => ({ serial: await p.device('DISTRIBUTED'), userId: 'lineman-7' }),
  ReportDeviceLost: async (p) => ({ serial: await p.device('ACTIVE'), reason: 'left on a pylon' }),
  CancelDeviceLoss: async (p) => ({ serial: await p.device('LOST') }),
  FreezeDevice: async (p) => ({ serial: await p.device('ACTIVE'), reason: 'suspicious use' }),
  RestoreDevice: async (p) => ({ serial: await p.device('FROZEN') }),
  DestroyDevice: async (p) => ({ serial: await p.device('INITIALIZED'), reason: 'chip damaged' }),
  // The kiosk checks the PIN of the device it has started charging.
  RecordDeviceAuthenticationFailure: async (p) => {
    const { chargeId, serial } = await p.charge('STARTED');
    return { serial, chargerId: p.kiosk, chargeId, reason: 'BAD_PIN' };
  },
  RecordDeviceAuthenticated: async (p) => {
    const { chargeId, serial } = await p.charge('STARTED');
    return { serial, chargerId: p.kiosk, chargeId };
  },
  UnblockDevicePin: async (p) => ({ serial: await p.device('PIN_LOCKED') }),
  // charger
  RegisterCharger: async (p) => ({ chargerId: p.newId('kiosk'), location: 'Substation 12', golden: GOLDEN }),
  AttestCharger: async (p) => ({ chargerId: p.kiosk, measurements: GOLDEN }),
  RevokeCharger: async (p) => ({ chargerId: await p.charger(), reason: 'decommissioned' }),
  // key pool
  FreezeKeyRange: async (p) => {
    const { sourceId, rangeId } = await p.range('ISSUED');
    return { sourceId, rangeId, reason: 'device reported lost' };
  },
  RestoreKeyRange: async (p) => {
    const { sourceId, rangeId } = await p.range('FROZEN');
    return { sourceId, rangeId };
  },
  ConsumeKeyRange: async (p) => {
    const { sourceId, rangeId } = await p.range('ISSUED');
    return { sourceId, rangeId };
  },
  DestroyKeyRange: async (p) => {
    const { sourceId, rangeId } = await p.range('ISSUED');
    return { sourceId, rangeId, reason: 'device destroyed' };
  },
  // charge
  StartCharge: async (p) => ({
    chargeId: p.newId('charge'),
    deviceSerial: await p.device('ACTIVE'),
    chargerId: p.kiosk,
    sourceId: await p.pool(),
    bytes: BYTES,
  }),
  RecordChargeDeviceVerification: async (p) => ({ chargeId: (await p.charge('STARTED')).chargeId, verified: true, method: 'CERTIFICATE' }),
  CompleteCharge: async (p) => ({ chargeId: (await p.charge('DELIVERED')).chargeId, deviceAcknowledgement: COMMITMENT }),
  FailCharge: async (p) => ({ chargeId: (await p.charge('STARTED')).chargeId, reason: 'kiosk lost power' }),
};

export interface QueryFixture {
  readonly document: string;
  readonly variables: (p: Platform) => Promise<Input>;
}

const none = async () => ({});

export const queryFixtures: Record<string, QueryFixture> = {
  device: { document: 'query($serial: String!) { device(serial: $serial) { serial status } }', variables: async (p) => ({ serial: await p.device('ACTIVE') }) },
  devices: { document: '{ devices(first: 5) { total items { serial } } }', variables: none },
  deviceBalance: {
    document: 'query($serial: String!) { deviceBalance(serial: $serial) { serial remaining } }',
    variables: async (p) => ({ serial: await p.device('ACTIVE') }),
  },
  poolBalance: {
    document: 'query($sourceId: String!) { poolBalance(sourceId: $sourceId) { sourceId available } }',
    variables: async (p) => ({ sourceId: await p.pool() }),
  },
  pools: { document: '{ pools { sourceId ingested } }', variables: none },
  charger: {
    document: 'query($chargerId: String!) { charger(chargerId: $chargerId) { chargerId status } }',
    variables: async (p) => ({ chargerId: p.kiosk }),
  },
  chargers: { document: '{ chargers(first: 5) { total items { chargerId } } }', variables: none },
  audit: { document: '{ audit(first: 5) { total items { action target outcome } } }', variables: none },
  auditStats: { document: '{ auditStats { total failures } }', variables: none },
  deviceHistory: {
    document: 'query($serial: String!) { deviceHistory(serial: $serial) { serial revision state { status } events { type } } }',
    variables: async (p) => ({ serial: await p.device('ACTIVE') }),
  },
  auditVerify: { document: '{ auditVerify { ok checked } }', variables: none },
  viewsStatus: { document: '{ viewsStatus { position stale } }', variables: none },
};

export const RECEIPT = 'commandId streamId revision position replayed events { type data }';

export const mutationDocument = (type: string): string =>
  `mutation($input: ${type}Input!) { ${mutationName(type)}(input: $input) { ${RECEIPT} } }`;
