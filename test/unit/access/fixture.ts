import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { AccessControl, Principal } from '../../../application/access/access-control';
import { CommandType } from '../../../application/access/policy';
import { createPrincipal, IssuedToken } from '../../../application/access/principals';
import { CommandBus } from '../../../application/command-bus';
import { EventStore, RecordedEvent } from '../../../application/ports/event-store';
import { Message } from '../../../domain/shared/aggregate';
import { principalAggregate, PrincipalRole } from '../../../domain/principal';
import { InMemoryEventStore } from '../../../infrastructure/event-store/memory';

// A platform with one principal per role, and two chargers each with a charge and a reserved range,
// so "only as itself" can be tried both ways; the principal's charger is attested.

export const at = new Date('2026-11-25T10:00:00.000Z');
export const SERIAL = 'UKEY-000001';
export const POOL = 'bb84-link-a';
const COMMITMENT = 'c'.repeat(64);
const GOLDEN = { bootModule: 'a'.repeat(64), operatingSystem: 'a'.repeat(64), application: 'a'.repeat(64) };

export const own = { chargerId: 'qkc-1', chargeId: 'charge-1', rangeId: 'range-1' } as const;
export const other = { chargerId: 'qkc-2', chargeId: 'charge-2', rangeId: 'range-2' } as const;

/** Appends events as the platform would have, for facts the tests start from. */
export const given = async (store: EventStore, streamId: string, ...events: Message[]): Promise<void> => {
  await store.append(
    streamId,
    events.map((event) => {
      const id = randomUUID();
      const metadata = {
        actorId: 'system',
        actorRole: 'SYSTEM',
        commandId: id,
        commandType: 'Fixture',
        correlationId: id,
        causationId: id,
        occurredAt: at.toISOString(),
      };
      return { id, ...event, metadata };
    }),
    'any',
  );
};

const started = (chargeId: string, chargerId: string): Message => ({
  type: 'ChargeStarted',
  data: { chargeId, deviceSerial: SERIAL, chargerId, sourceId: POOL, bytes: 64 },
});
const reserved = (rangeId: string, offset: number, chargeId: string): Message => ({
  type: 'KeyRangeReserved',
  data: { sourceId: POOL, rangeId, offset, length: 64, chargeId },
});

/** One valid command of every type, each a charger's own when sent by charger `own.chargerId`. */
export const sampleCommand = (type: CommandType, scope: typeof own | typeof other = own): Message => {
  const { chargerId, chargeId, rangeId } = scope;
  const sourceId = POOL;
  const reason = 'routine';
  const hash = 'a'.repeat(64);
  const data: Record<CommandType, object> = {
    InitializeDevice: { serial: SERIAL, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: hash },
    DistributeDevice: { serial: SERIAL, organisation: 'grid-north' },
    BindDevice: { serial: SERIAL, userId: 'alice' },
    ReportDeviceLost: { serial: SERIAL, reason },
    CancelDeviceLoss: { serial: SERIAL },
    FreezeDevice: { serial: SERIAL, reason },
    RestoreDevice: { serial: SERIAL },
    DestroyDevice: { serial: SERIAL, reason },
    RecordDeviceAuthenticationFailure: { serial: SERIAL, chargerId, chargeId, reason: 'BAD_PIN' },
    RecordDeviceAuthenticated: { serial: SERIAL, chargerId, chargeId },
    UnblockDevicePin: { serial: SERIAL },
    RegisterCharger: { chargerId, location: 'Substation 7', golden: GOLDEN },
    AttestCharger: { chargerId, measurements: GOLDEN },
    RevokeCharger: { chargerId, reason },
    IngestKeyMaterial: { sourceId, blockId: 'block-9', length: 1024, qber: 0.02, commitment: hash },
    RecordKeyBlockDiscarded: { sourceId, blockId: 'block-10', reason: 'QBER 0.25 above 0.11' },
    ReserveKeyRange: { sourceId, rangeId: `${rangeId}-next`, length: 64, chargeId },
    IssueKeyRange: { sourceId, rangeId, deviceSerial: SERIAL },
    ReleaseKeyRange: { sourceId, rangeId },
    FreezeKeyRange: { sourceId, rangeId, reason },
    RestoreKeyRange: { sourceId, rangeId },
    ConsumeKeyRange: { sourceId, rangeId },
    DestroyKeyRange: { sourceId, rangeId, reason },
    StartCharge: { chargeId: `${chargeId}-next`, deviceSerial: SERIAL, chargerId, sourceId, bytes: 64 },
    RecordChargeDeviceVerification: { chargeId, verified: true, method: 'CERTIFICATE' },
    DeliverChargeKeys: { chargeId, sourceId, rangeId, offset: 0, length: 64, commitment: hash },
    CompleteCharge: { chargeId, deviceAcknowledgement: hash },
    FailCharge: { chargeId, reason },
    CreatePrincipal: { principalId: 'mallory', name: 'Mallory', role: 'SECURITY_ADMIN', tokenHash: hash },
    RotatePrincipalToken: { principalId: 'mallory', tokenHash: hash },
    RevokePrincipal: { principalId: 'mallory', reason },
    IssueSaeKeys: {
      masterSaeId: 'GW-NORTH-1',
      slaveSaeIds: ['GW-SOUTH-1'],
      requestId: 'request-1',
      keys: [{ keyId: '0f8b3c2e-7d4a-4f1b-9c6e-2a5d8e1f3b7c', sourceId, rangeId, offset: 0, length: 32 }],
    },
    DeliverSaeKeys: { masterSaeId: 'GW-NORTH-1', slaveSaeId: 'GW-SOUTH-1', keyIds: ['0f8b3c2e-7d4a-4f1b-9c6e-2a5d8e1f3b7c'] },
    RecordSaeKeyRefusal: { saeId: 'GW-NORTH-1', callerSaeId: 'GW-SOUTH-1', operation: 'DEC_KEYS', status: 401, reason },
  };
  return { type, data: data[type] };
};

export interface Platform {
  readonly store: InMemoryEventStore;
  readonly bus: CommandBus;
  readonly access: AccessControl;
  /** A principal of each role; the charger is `own.chargerId`. */
  readonly tokens: Record<PrincipalRole, IssuedToken>;
  /** The principal of that role, as authenticate returns it. */
  readonly principal: (role: PrincipalRole) => Promise<Principal>;
  /** Every event in the log. */
  readonly log: () => Promise<RecordedEvent[]>;
  /** Events appended by `act`. */
  readonly appendedBy: (act: () => Promise<unknown>) => Promise<RecordedEvent[]>;
  readonly close: () => Promise<void>;
}

export const ok = <A>(either: E.Either<unknown, A>): A => {
  if (E.isLeft(either)) throw new Error(`expected success, got ${JSON.stringify(either.left)}`);
  return either.right;
};

export const issue = async (bus: CommandBus, access: AccessControl, role: PrincipalRole, principalId?: string) => {
  const issued = ok(await createPrincipal(bus, { name: `the ${role.toLowerCase()}`, role, principalId }));
  await access.caughtUpTo(issued.position);
  return issued;
};

export const platform = async (): Promise<Platform> => {
  const store = new InMemoryEventStore();
  const bus = new CommandBus(store, [{ aggregate: principalAggregate }], { clock: () => at });
  await given(
    store,
    `charger-${own.chargerId}`,
    { type: 'ChargerRegistered', data: { chargerId: own.chargerId, location: 'Substation 7', golden: GOLDEN } },
    { type: 'ChargerAttested', data: { chargerId: own.chargerId } },
  );
  await given(store, `charge-${own.chargeId}`, started(own.chargeId, own.chargerId));
  await given(store, `charge-${other.chargeId}`, started(other.chargeId, other.chargerId));
  await given(
    store,
    `keypool-${POOL}`,
    {
      type: 'KeyMaterialIngested',
      data: { sourceId: POOL, blockId: 'block-1', offset: 0, length: 1024, qber: 0.02, commitment: COMMITMENT },
    },
    reserved(own.rangeId, 0, own.chargeId),
    reserved(other.rangeId, 64, other.chargeId),
  );
  const access = await AccessControl.open(store, bus.load, { clock: () => at });
  const tokens = {
    SECURITY_ADMIN: await issue(bus, access, 'SECURITY_ADMIN'),
    USER_ADMIN: await issue(bus, access, 'USER_ADMIN'),
    AUDITOR: await issue(bus, access, 'AUDITOR'),
    CHARGER: await issue(bus, access, 'CHARGER', own.chargerId),
    GATEWAY: await issue(bus, access, 'GATEWAY'),
  };
  const log = () => store.readAll();
  return {
    store,
    bus,
    access,
    tokens,
    principal: async (role) => ok(await access.authenticate(`Bearer ${tokens[role].token}`)),
    log,
    appendedBy: async (act) => {
      const before = (await log()).length;
      await act();
      return (await log()).slice(before);
    },
    close: async () => {
      await access.close();
      await store.close();
    },
  };
};
