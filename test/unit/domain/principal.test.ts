import { createHash } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { Role } from '../../../application/command-envelope';
import { streamOf } from '../../../domain/shared/aggregate';
import { decodeMessage } from '../../../domain/shared/codec';
import {
  principalAggregate,
  PrincipalCommand,
  PrincipalEvent,
  PrincipalRole,
  PrincipalState,
} from '../../../domain/principal';
import { scenario } from '../../support/given-when-then';

const principal = scenario(principalAggregate);

const principalId = 'alice.sec';
const name = 'Alice, security administrator';
const digest = (text: string) => createHash('sha256').update(text).digest('hex');
const firstHash = digest('first token');
const secondHash = digest('second token');

const created: PrincipalEvent = {
  type: 'PrincipalCreated',
  data: { principalId, name, role: 'SECURITY_ADMIN', tokenHash: firstHash },
};
const rotated: PrincipalEvent = { type: 'PrincipalTokenRotated', data: { principalId, tokenHash: secondHash } };
const revoked: PrincipalEvent = { type: 'PrincipalRevoked', data: { principalId, reason: 'left the company' } };

const history = {
  ACTIVE: [created],
  ROTATED: [created, rotated],
  REVOKED: [created, revoked],
} as const;

const command = {
  CreatePrincipal: {
    type: 'CreatePrincipal',
    data: { principalId, name, role: 'SECURITY_ADMIN', tokenHash: firstHash },
  },
  RotatePrincipalToken: { type: 'RotatePrincipalToken', data: { principalId, tokenHash: secondHash } },
  RevokePrincipal: { type: 'RevokePrincipal', data: { principalId, reason: 'left the company' } },
} as const;
type CommandType = keyof typeof command;

const withData = (type: CommandType, data: Record<string, unknown>) => ({
  type,
  data: { ...command[type].data, ...data },
});
const stateAfter = (events: readonly PrincipalEvent[]): PrincipalState =>
  events.reduce(principalAggregate.evolve, principalAggregate.initialState);

describe('principal aggregate wiring', () => {
  it('lives in principal-<id> streams and routes every command by its principal id', () => {
    for (const type of Object.keys(command) as CommandType[]) {
      const decoded = decodeMessage<PrincipalCommand>(principalAggregate.commandCodecs, command[type], 'command');
      expect(E.isRight(decoded) && principalAggregate.targetOf(decoded.right)).toBe(principalId);
    }
    expect(streamOf(principalAggregate, principalId)).toBe('principal-alice.sec');
  });

  it('registers each codec under its own message type', () => {
    for (const codecs of [principalAggregate.commandCodecs, principalAggregate.eventCodecs]) {
      for (const [type, codec] of Object.entries(codecs)) expect(codec.name).toBe(type);
    }
    expect(Object.keys(principalAggregate.commandCodecs).sort()).toEqual(Object.keys(command).sort());
  });

  it('gives tokens every role but SYSTEM, which is the platform itself', () => {
    expect(Object.keys(PrincipalRole.keys).sort()).toEqual(Object.keys(Role.keys).filter((r) => r !== 'SYSTEM').sort());
  });
});

describe('CreatePrincipal', () => {
  it.each(Object.keys(PrincipalRole.keys) as PrincipalRole[])('creates a %s with the hash of its token', (role) => {
    const data = { principalId, name, role, tokenHash: firstHash };
    principal.given().when({ type: 'CreatePrincipal', data }).then({ type: 'PrincipalCreated', data });
  });

  it('keeps a token out of the event even when a caller sends it', () => {
    const token = 'qkmp_' + 'x'.repeat(43);
    const { result } = principal.given().when(withData('CreatePrincipal', { token }));
    expect(result).toEqual(E.right([created]));
    expect(JSON.stringify(result)).not.toContain(token);
  });

  it.each(Object.keys(history) as (keyof typeof history)[])(
    'refuses an id already used by a principal that was %s: ids are never reused',
    (status) => {
      const error = principal
        .given(...history[status])
        .when(command.CreatePrincipal)
        .thenError('ALREADY_EXISTS', 'principal alice.sec already exists; choose another id');
      expect(error.details).toEqual({ entity: 'principal', id: principalId });
    },
  );

  it.each([
    [{ principalId: 'alice sec' }, 'data.principalId', /an identifier/],
    [{ principalId: 'anonymous' }, 'data.principalId', /other than 'anonymous'/],
    [{ name: '  ' }, 'data.name', /text of 1 to 200 characters/],
    [{ role: 'SYSTEM' }, 'data.role', /one of SECURITY_ADMIN, USER_ADMIN, AUDITOR, CHARGER, GATEWAY$/],
    [{ tokenHash: 'qkmp_secret-token' }, 'data.tokenHash', /SHA-256 digest/],
    [{ tokenHash: undefined }, 'data.tokenHash', /is required/],
  ])('refuses %j, naming %s and its rule', (patch, field, rule) => {
    const error = principal.given().when(withData('CreatePrincipal', patch)).thenError('INVALID_INPUT', field);
    expect(error.issues).toEqual([{ field, rule: expect.stringMatching(rule) }]);
  });

  it('does not echo a token sent in place of its hash', () => {
    const token = 'qkmp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const error = principal.given().when(withData('CreatePrincipal', { tokenHash: token })).thenError('INVALID_INPUT');
    expect(JSON.stringify(error)).not.toContain(token);
  });
});

describe('RotatePrincipalToken', () => {
  it('replaces the token hash of an active principal', () => {
    principal.given(...history.ACTIVE).when(command.RotatePrincipalToken).then(rotated);
  });

  it('rotates again after a rotation', () => {
    const third = digest('third token');
    principal
      .given(...history.ROTATED)
      .when(withData('RotatePrincipalToken', { tokenHash: third }))
      .then({ type: 'PrincipalTokenRotated', data: { principalId, tokenHash: third } });
  });

  it('refuses the current hash: a rotation must change the token', () => {
    const error = principal
      .given(...history.ROTATED)
      .when(command.RotatePrincipalToken)
      .thenError('INVALID_INPUT', /data.tokenHash: must differ from the current token hash; generate a new token/);
    expect(JSON.stringify(error)).not.toContain(secondHash);
  });

  it('refuses an unknown principal, advising to create it', () => {
    principal
      .given()
      .when(command.RotatePrincipalToken)
      .thenError('NOT_FOUND', 'principal alice.sec does not exist; create it first');
  });

  it('refuses a revoked principal, advising a new one', () => {
    principal
      .given(...history.REVOKED)
      .when(command.RotatePrincipalToken)
      .thenError(
        'INVALID_STATE',
        'cannot rotate the token of principal alice.sec while it is REVOKED; ' +
          'a revoked principal stays revoked; create a new principal',
      );
  });

  it('refuses a malformed hash, naming the field', () => {
    const error = principal
      .given(...history.ACTIVE)
      .when(withData('RotatePrincipalToken', { tokenHash: firstHash.toUpperCase() }))
      .thenError('INVALID_INPUT', /^data.tokenHash: must be a SHA-256 digest as 64 lowercase hex characters$/);
    expect(error.issues).toHaveLength(1);
  });
});

describe('RevokePrincipal', () => {
  it.each(['ACTIVE', 'ROTATED'] as const)('revokes a principal that is %s', (status) => {
    principal.given(...history[status]).when(command.RevokePrincipal).then(revoked);
  });

  it('refuses an unknown principal, advising to create it', () => {
    principal
      .given()
      .when(command.RevokePrincipal)
      .thenError('NOT_FOUND', 'principal alice.sec does not exist; create it first');
  });

  it('refuses a second revocation: revocation is final', () => {
    const error = principal
      .given(...history.REVOKED)
      .when(command.RevokePrincipal)
      .thenError(
        'INVALID_STATE',
        'cannot revoke principal alice.sec while it is REVOKED; it is revoked already; nothing to do',
      );
    expect(error.details).toEqual({ entity: 'principal', id: principalId, state: 'REVOKED', action: 'revoke' });
  });

  it('refuses a missing reason, naming the field', () => {
    principal
      .given(...history.ACTIVE)
      .when({ type: 'RevokePrincipal', data: { principalId } })
      .thenError('INVALID_INPUT', /^data.reason: is required \(text of 1 to 200 characters\)$/);
  });
});

describe('unknown commands', () => {
  it('are refused, listing the principal commands', () => {
    const error = principal
      .given()
      .when({ type: 'GrantRole', data: { principalId } })
      .thenError('INVALID_INPUT');
    expect(error.issues).toEqual([
      { field: 'type', rule: expect.stringContaining('CreatePrincipal, RotatePrincipalToken, RevokePrincipal') },
    ]);
  });
});

describe('evolve', () => {
  it('starts with no principal', () => {
    expect(stateAfter([])).toEqual({ status: 'NONE' });
  });

  it('keeps who the principal is and the hash of its token', () => {
    expect(stateAfter(history.ACTIVE)).toEqual({
      status: 'ACTIVE',
      principalId,
      name,
      role: 'SECURITY_ADMIN',
      tokenHash: firstHash,
    });
  });

  it('keeps only the latest token hash after rotations', () => {
    const third = digest('third token');
    const again: PrincipalEvent = { type: 'PrincipalTokenRotated', data: { principalId, tokenHash: third } };
    expect(stateAfter([created, rotated, again])).toMatchObject({ status: 'ACTIVE', tokenHash: third });
  });

  it('ends revoked, keeping who it was for the audit', () => {
    expect(stateAfter([created, rotated, revoked])).toEqual({
      status: 'REVOKED',
      principalId,
      name,
      role: 'SECURITY_ADMIN',
      tokenHash: secondHash,
    });
  });
});
