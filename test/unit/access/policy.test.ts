import {
  commandPolicy,
  CommandType,
  governedAggregates,
  grants,
  hasMutation,
  queryOperations,
  queryPolicy,
  Rule,
} from '../../../application/access/policy';
import { Role } from '../../../application/command-envelope';
import { commandRoutes } from '../../../application/routes';
import { saeKeysAggregate } from '../../../domain/saekeys';
import { principalAggregate, PrincipalRole } from '../../../domain/principal';

const roles = Object.keys(PrincipalRole.keys) as PrincipalRole[];
/** Every aggregate the command bus serves, and principals, which the command line sends through it. */
const served = [...commandRoutes.map((route) => route.aggregate), principalAggregate];
const servedCommandTypes = [...new Set(served.flatMap((aggregate) => Object.keys(aggregate.commandCodecs)))];
const rules = (table: Readonly<Record<string, Rule>>) => Object.entries(table);

/** What a role may do by the table. */
const granted = (table: Readonly<Record<string, Rule>>, role: PrincipalRole) =>
  rules(table)
    .filter(([, rule]) => grants(rule, role))
    .map(([name]) => name)
    .sort();

describe('the policy table covers everything', () => {
  it('has a rule for every command type of every aggregate the platform serves', () => {
    expect(servedCommandTypes.length).toBeGreaterThan(25);
    expect(servedCommandTypes.filter((type) => !(type in commandPolicy))).toEqual([]);
  });

  it('has no rule for a command type no aggregate knows', () => {
    expect(Object.keys(commandPolicy).filter((type) => !servedCommandTypes.includes(type))).toEqual([]);
  });

  it('governs exactly the aggregates the platform serves', () => {
    expect(governedAggregates.map((a) => a.name).sort()).toEqual([...new Set(served.map((a) => a.name))].sort());
  });

  it('has a rule for every query operation of the API', () => {
    const views = ['device', 'devices', 'deviceBalance', 'poolBalance', 'pools', 'charger', 'chargers'];
    const operations = [...views, 'audit', 'auditStats', 'deviceHistory', 'auditVerify', 'viewsStatus'];
    expect(Object.keys(queryPolicy).sort()).toEqual([...operations].sort());
    expect([...queryOperations].sort()).toEqual([...operations].sort());
  });
});

describe('the policy table is well formed', () => {
  const all = [...rules(commandPolicy), ...rules(queryPolicy)];

  it('grants only roles a token can carry, never SYSTEM', () => {
    expect(roles).not.toContain('SYSTEM');
    expect(Object.keys(Role.keys)).toContain('SYSTEM');
    for (const [, rule] of all) for (const role of rule.roles) expect(roles).toContain(role);
  });

  it('says for every rule that grants CHARGER how the charger acts only as itself', () => {
    const charger = all.filter(([, rule]) => grants(rule, 'CHARGER'));
    expect(charger.length).toBeGreaterThan(0);
    for (const [name, rule] of charger) expect([name, 'asItself' in rule]).toEqual([name, true]);
  });

  it('has no "as itself" rule that does not grant CHARGER', () => {
    expect(all.filter(([, rule]) => 'asItself' in rule && !grants(rule, 'CHARGER')).map(([name]) => name)).toEqual([]);
  });
});

// The brief's words, role by role, against the table.
describe('who may run which command', () => {
  const expected: Record<PrincipalRole, CommandType[]> = {
    SECURITY_ADMIN: [
      'InitializeDevice',
      'DestroyDevice',
      'RegisterCharger',
      'RevokeCharger',
      'FreezeKeyRange',
      'RestoreKeyRange',
      'DestroyKeyRange',
    ],
    USER_ADMIN: [
      'DistributeDevice',
      'BindDevice',
      'ReportDeviceLost',
      'CancelDeviceLoss',
      'FreezeDevice',
      'RestoreDevice',
      'UnblockDevicePin',
    ],
    AUDITOR: [],
    CHARGER: [
      'AttestCharger',
      'RecordDeviceAuthenticationFailure',
      'RecordDeviceAuthenticated',
      'StartCharge',
      'RecordChargeDeviceVerification',
      'CompleteCharge',
      'FailCharge',
      'ReserveKeyRange',
    ],
    GATEWAY: ['ConsumeKeyRange'],
  };

  it.each(roles)('%s runs exactly its own commands', (role) => {
    expect(granted(commandPolicy, role)).toEqual([...expected[role]].sort());
  });

  it('grants each command to one role only', () => {
    for (const [type, rule] of rules(commandPolicy)) expect([type, rule.roles.length <= 1]).toEqual([type, true]);
  });

  it('lets no token manage principals, SAE keys or discarded blocks: the host tools and the key delivery interface do', () => {
    const byNobody = rules(commandPolicy).filter(([, rule]) => rule.roles.length === 0).map(([type]) => type);
    const expected = [
      ...Object.keys(principalAggregate.commandCodecs),
      ...Object.keys(saeKeysAggregate.commandCodecs),
      'RecordKeyBlockDiscarded',
      'IngestKeyMaterial',
      'IssueKeyRange',
      'ReleaseKeyRange',
      'DeliverChargeKeys',
    ];
    expect(byNobody.sort()).toEqual(expected.sort());
  });

  it.each([
    ['AttestCharger', 'chargerId'],
    ['RecordDeviceAuthenticationFailure', 'chargingDevice'],
    ['RecordDeviceAuthenticated', 'chargingDevice'],
    ['StartCharge', 'chargerId'],
    ['RecordChargeDeviceVerification', 'ownCharge'],
    ['CompleteCharge', 'ownCharge'],
    ['FailCharge', 'ownCharge'],
  ] as const)('a charger runs %s only as itself, by %s', (type, scope) => {
    expect(commandPolicy[type]).toEqual({ roles: ['CHARGER'], asItself: scope });
    expect(hasMutation(commandPolicy[type])).toBe(true);
  });

  it('lets a charger reserve key only for its own charge, and only inside chargeKeys, which delivers and issues it', () => {
    expect(commandPolicy.ReserveKeyRange).toEqual({ roles: ['CHARGER'], asItself: 'ownCharge', via: 'chargeKeys' });
    expect(hasMutation(commandPolicy.ReserveKeyRange)).toBe(false);
  });
});

describe('who may read what', () => {
  const views = ['device', 'devices', 'deviceBalance', 'poolBalance', 'pools', 'charger', 'chargers'];

  it.each(['SECURITY_ADMIN', 'USER_ADMIN'] as const)('%s reads the device, charger and balance views, and how current they are', (role) => {
    expect(granted(queryPolicy, role)).toEqual([...views, 'viewsStatus'].sort());
  });

  it('AUDITOR reads everything', () => {
    expect(granted(queryPolicy, 'AUDITOR')).toEqual([...queryOperations].sort());
  });

  it('CHARGER reads only its own charger view', () => {
    expect(granted(queryPolicy, 'CHARGER')).toEqual(['charger']);
    expect(queryPolicy.charger).toMatchObject({ asItself: 'target' });
  });

  it('GATEWAY reads nothing yet', () => {
    expect(granted(queryPolicy, 'GATEWAY')).toEqual([]);
  });
});
