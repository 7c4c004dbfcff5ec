import { chargeAggregate, ChargeCommand } from '../../domain/charge';
import { chargerAggregate, ChargerCommand } from '../../domain/charger';
import { deviceAggregate, DeviceCommand } from '../../domain/device';
import { keyPoolAggregate, KeyPoolCommand } from '../../domain/keypool';
import { principalAggregate, PrincipalCommand, PrincipalRole } from '../../domain/principal';
import { saeKeysAggregate, SaeKeysCommand } from '../../domain/saekeys';

// The single source of truth of who may do what. Everything not granted here is refused.

/** Every aggregate whose commands are governed here; the policy test checks the command bus serves no other. */
export const governedAggregates = [
  deviceAggregate,
  chargerAggregate,
  keyPoolAggregate,
  chargeAggregate,
  principalAggregate,
  saeKeysAggregate,
] as const;

type GovernedCommand = DeviceCommand | ChargerCommand | KeyPoolCommand | ChargeCommand | PrincipalCommand | SaeKeysCommand;
export type CommandType = GovernedCommand['type'];

/**
 * How a CHARGER shows that what it asks for is its own (a charger's principal id is its charger id):
 * - chargerId: the command's data.chargerId is the charger itself;
 * - ownCharge: data.chargeId names a charge this charger started;
 * - chargingDevice: the charger is itself and attested, and data.chargeId names a charge it started
 *   for data.serial that is still at its device check (STARTED, the paper's step 3.2);
 * - target: the query asks for the charger itself.
 * Whatever the scope, a revoked charger may do nothing at all.
 */
export type AsItself = CommandScope | 'target';
export type CommandScope = 'chargerId' | 'ownCharge' | 'chargingDevice';

/**
 * The roles granted; a rule that grants CHARGER must say how the charger acts only as itself. A
 * rule with `via` grants the command only inside that mutation, which runs it with the steps that
 * must follow it: the command has no mutation of its own.
 */
export type Rule<Scope extends AsItself = AsItself> =
  | { readonly roles: readonly Exclude<PrincipalRole, 'CHARGER'>[] }
  | { readonly roles: readonly PrincipalRole[]; readonly asItself: Scope; readonly via?: 'chargeKeys' };

/** The checks a command's data makes possible, so a rule cannot name a field the command lacks. */
type ScopesOf<Data> =
  | (Data extends { chargerId: string } ? 'chargerId' : never)
  | (Data extends { chargeId: string } ? 'ownCharge' : never)
  | (Data extends { chargerId: string; chargeId: string; serial: string } ? 'chargingDevice' : never);

export type CommandPolicy = {
  readonly [T in CommandType]: Rule<ScopesOf<Extract<GovernedCommand, { type: T }>['data']>>;
};

export const commandPolicy: CommandPolicy = {
  // device
  InitializeDevice: { roles: ['SECURITY_ADMIN'] },
  DistributeDevice: { roles: ['USER_ADMIN'] },
  BindDevice: { roles: ['USER_ADMIN'] },
  ReportDeviceLost: { roles: ['USER_ADMIN'] },
  CancelDeviceLoss: { roles: ['USER_ADMIN'] },
  FreezeDevice: { roles: ['USER_ADMIN'] },
  RestoreDevice: { roles: ['USER_ADMIN'] },
  DestroyDevice: { roles: ['SECURITY_ADMIN'] },
  // A kiosk reports its PIN check only on the device it is charging: else any kiosk could lock any
  // device, or clear the count of wrong PINs between guesses.
  RecordDeviceAuthenticationFailure: { roles: ['CHARGER'], asItself: 'chargingDevice' },
  RecordDeviceAuthenticated: { roles: ['CHARGER'], asItself: 'chargingDevice' },
  UnblockDevicePin: { roles: ['USER_ADMIN'] },
  // charger
  RegisterCharger: { roles: ['SECURITY_ADMIN'] },
  AttestCharger: { roles: ['CHARGER'], asItself: 'chargerId' },
  RevokeCharger: { roles: ['SECURITY_ADMIN'] },
  // key pool
  // Key enters only with its bytes, through the key source on the platform host (qkmp keys generate), as SYSTEM.
  IngestKeyMaterial: { roles: [] },
  RecordKeyBlockDiscarded: { roles: [] },
  // Key leaves the pool only with its bytes: chargeKeys reserves a range for the charger's own
  // charge, reads it, records the delivery and issues it to the device in one call. Sent one by one,
  // these steps could record a delivery no key went with, or hold key back from its device.
  ReserveKeyRange: { roles: ['CHARGER'], asItself: 'ownCharge', via: 'chargeKeys' },
  IssueKeyRange: { roles: [] },
  ReleaseKeyRange: { roles: [] },
  FreezeKeyRange: { roles: ['SECURITY_ADMIN'] },
  RestoreKeyRange: { roles: ['SECURITY_ADMIN'] },
  ConsumeKeyRange: { roles: ['GATEWAY'] },
  DestroyKeyRange: { roles: ['SECURITY_ADMIN'] },
  // charge
  StartCharge: { roles: ['CHARGER'], asItself: 'chargerId' },
  RecordChargeDeviceVerification: { roles: ['CHARGER'], asItself: 'ownCharge' },
  DeliverChargeKeys: { roles: [] },
  CompleteCharge: { roles: ['CHARGER'], asItself: 'ownCharge' },
  FailCharge: { roles: ['CHARGER'], asItself: 'ownCharge' },
  // principal: no token may mint or revoke tokens; the command line on the platform host does, as SYSTEM.
  CreatePrincipal: { roles: [] },
  RotatePrincipalToken: { roles: [] },
  RevokePrincipal: { roles: [] },
  // SAE keys: no token at all; the key delivery interface issues them for the SAE its mutual TLS names.
  IssueSaeKeys: { roles: [] },
  DeliverSaeKeys: { roles: [] },
  RecordSaeKeyRefusal: { roles: [] },
};

export const queryOperations = [
  'device',
  'devices',
  'deviceBalance',
  'poolBalance',
  'pools',
  'charger',
  'chargers',
  'audit',
  'auditStats',
  'deviceHistory',
  'auditVerify',
  'viewsStatus',
] as const;
export type QueryOperation = (typeof queryOperations)[number];

export type QueryPolicy = { readonly [Q in QueryOperation]: Rule<'target'> };

const viewReaders = ['SECURITY_ADMIN', 'USER_ADMIN', 'AUDITOR'] as const;

// GATEWAY reads nothing yet.
export const queryPolicy: QueryPolicy = {
  device: { roles: viewReaders },
  devices: { roles: viewReaders },
  deviceBalance: { roles: viewReaders },
  poolBalance: { roles: viewReaders },
  pools: { roles: viewReaders },
  charger: { roles: [...viewReaders, 'CHARGER'], asItself: 'target' },
  chargers: { roles: viewReaders },
  audit: { roles: ['AUDITOR'] },
  auditStats: { roles: ['AUDITOR'] },
  deviceHistory: { roles: ['AUDITOR'] },
  auditVerify: { roles: ['AUDITOR'] },
  // Every console reads how far the views are, to know whether what it shows is current.
  viewsStatus: { roles: viewReaders },
};

/**
 * The aggregate whose id a query names, so that a refused query records the stream it asked
 * about, as a refused command does.
 */
export const queryTargets: Partial<Readonly<Record<QueryOperation, { readonly streamPrefix: string }>>> = {
  device: deviceAggregate,
  deviceBalance: deviceAggregate,
  deviceHistory: deviceAggregate,
  poolBalance: keyPoolAggregate,
  charger: chargerAggregate,
};

const own = Object.prototype.hasOwnProperty;

/** Whether the command has a mutation of its own: some role may send it, and not only inside another mutation. */
export const hasMutation = (rule: Rule): boolean => rule.roles.length > 0 && !('via' in rule && rule.via !== undefined);

/** The rule of a command type, or undefined for a type nobody may run. */
export const commandRule = (type: string): Rule<CommandScope> | undefined =>
  own.call(commandPolicy, type) ? commandPolicy[type as CommandType] : undefined;

export const queryRule = (operation: string): Rule<'target'> | undefined =>
  own.call(queryPolicy, operation) ? queryPolicy[operation as QueryOperation] : undefined;

/** Whether the rule grants the role, before any "only as itself" check. */
export const grants = (rule: Rule, role: PrincipalRole): boolean =>
  (rule.roles as readonly PrincipalRole[]).includes(role);

/** Whether a query's rule lets the principal read the view of `target`: its role is granted, and a CHARGER asks for itself. */
export const grantsRead = (
  rule: Rule<'target'>,
  principal: { readonly id: string; readonly role: PrincipalRole },
  target?: string,
): boolean =>
  grants(rule, principal.role) && !(principal.role === 'CHARGER' && 'asItself' in rule && target !== principal.id);

/**
 * Whether some query shows the principal the aggregate instance `id` (a device's serial, a
 * charger's id): a refusal may show it that instance's current state only then.
 */
export const mayReadStateOf = (
  principal: { readonly id: string; readonly role: PrincipalRole },
  aggregate: { readonly streamPrefix: string },
  id: string,
): boolean =>
  queryOperations.some(
    (operation) =>
      queryTargets[operation]?.streamPrefix === aggregate.streamPrefix && grantsRead(queryPolicy[operation], principal, id),
  );
