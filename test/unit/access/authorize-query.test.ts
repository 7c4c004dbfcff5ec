import * as E from 'fp-ts/Either';
import { Principal } from '../../../application/access/access-control';
import { grants, QueryOperation, queryOperations, queryPolicy, queryTargets } from '../../../application/access/policy';
import { PrincipalRole } from '../../../domain/principal';
import { given, own, other, platform, Platform, SERIAL } from './fixture';

const roles: PrincipalRole[] = ['SECURITY_ADMIN', 'USER_ADMIN', 'AUDITOR', 'CHARGER', 'GATEWAY'];

let p: Platform;
beforeEach(async () => {
  p = await platform();
});
afterEach(() => p.close());

const authorize = async (principal: Principal | null, operation: string, target?: string) => {
  let decision: E.Either<{ code: string; message: string }, void> | undefined;
  const appended = await p.appendedBy(async () => {
    decision = await p.access.authorizeQuery(principal, operation, target);
  });
  return { decision: decision!, appended };
};

const expectDenied = async (
  principal: Principal | null,
  operation: string,
  target: string | undefined,
  reason: 'UNAUTHENTICATED' | 'FORBIDDEN',
  recorded: { operation: string; target: string | null },
) => {
  const { decision, appended } = await authorize(principal, operation, target);
  if (E.isRight(decision)) throw new Error(`expected ${reason} for ${operation}, it was allowed`);
  expect(decision.left.code).toBe(reason);
  expect(appended.map(({ streamId, type, data }) => ({ streamId, type, data }))).toEqual([
    {
      streamId: `access-${principal?.id ?? 'anonymous'}`,
      type: 'AccessDenied',
      data: { principalId: principal?.id ?? null, role: principal?.role ?? null, reason, ...recorded },
    },
  ]);
  return decision.left.message;
};

const expectAllowed = async (principal: Principal, operation: string, target?: string) => {
  const { decision, appended } = await authorize(principal, operation, target);
  expect([operation, decision]).toEqual([operation, E.right(undefined)]);
  expect(appended).toEqual([]);
};

/** A query about one device or charger records the stream it asked for; the others, the id as given. */
const recordedTarget = (operation: QueryOperation, target: string): string => {
  const aggregate = queryTargets[operation];
  return aggregate === undefined ? target : `${aggregate.streamPrefix}-${target}`;
};

describe('authorizeQuery, role by role', () => {
  it.each(roles)('lets %s read exactly what the table grants it', async (role) => {
    const principal = await p.principal(role);
    // A charger asks for its own view; the others for some device.
    const target = role === 'CHARGER' ? own.chargerId : SERIAL;
    for (const operation of queryOperations) {
      if (grants(queryPolicy[operation], role)) await expectAllowed(principal, operation, target);
      else await expectDenied(principal, operation, target, 'FORBIDDEN', { operation, target: recordedTarget(operation, target) });
    }
  });

  it('records the stream a refused query about one device or charger asked for, as for a command', async () => {
    await expectDenied(await p.principal('GATEWAY'), 'deviceHistory', SERIAL, 'FORBIDDEN', {
      operation: 'deviceHistory',
      target: `device-${SERIAL}`,
    });
    await expectDenied(await p.principal('GATEWAY'), 'charger', own.chargerId, 'FORBIDDEN', {
      operation: 'charger',
      target: `charger-${own.chargerId}`,
    });
  });

  it('says who may read instead', async () => {
    const message = await expectDenied(await p.principal('USER_ADMIN'), 'audit', undefined, 'FORBIDDEN', {
      operation: 'audit',
      target: null,
    });
    expect(message).toBe('a USER_ADMIN may not read audit; send an Authorization: Bearer token of an AUDITOR');
  });

  it.each(queryOperations)('refuses %s without a principal as UNAUTHENTICATED', async (operation) => {
    const message = await expectDenied(null, operation, undefined, 'UNAUTHENTICATED', { operation, target: null });
    expect(message).toMatch(`reading ${operation} needs a principal; send an Authorization: Bearer token of `);
  });

  it('refuses an unknown operation as FORBIDDEN, without recording the caller\'s text', async () => {
    const message = await expectDenied(await p.principal('AUDITOR'), 'secretKeys', undefined, 'FORBIDDEN', {
      operation: 'unknown query operation',
      target: null,
    });
    expect(message).toMatch(/no role may read it; check the operation name$/);
  });

  it('records a target only when it is short text', async () => {
    await expectDenied(await p.principal('GATEWAY'), 'device', 'x'.repeat(201), 'FORBIDDEN', {
      operation: 'device',
      target: null,
    });
  });
});

describe('a charger reads only its own charger view', () => {
  it('reads its own', async () => {
    await expectAllowed(await p.principal('CHARGER'), 'charger', own.chargerId);
  });

  it.each([
    ['another charger', other.chargerId],
    ['no charger in particular', undefined],
  ])('may not read %s', async (_, target) => {
    const message = await expectDenied(await p.principal('CHARGER'), 'charger', target, 'FORBIDDEN', {
      operation: 'charger',
      target: target === undefined ? null : `charger-${target}`,
    });
    expect(message).toBe('a charger may read only its own charger view: ask for charger qkc-1');
  });

  it('may not list the chargers', async () => {
    await expectDenied(await p.principal('CHARGER'), 'chargers', undefined, 'FORBIDDEN', {
      operation: 'chargers',
      target: null,
    });
  });
  it('may not read even its own once it is revoked', async () => {
    await given(p.store, `charger-${own.chargerId}`, { type: 'ChargerRevoked', data: { chargerId: own.chargerId, reason: 'stolen' } });
    const message = await expectDenied(await p.principal('CHARGER'), 'charger', own.chargerId, 'FORBIDDEN', {
      operation: 'charger',
      target: `charger-${own.chargerId}`,
    });
    expect(message).toMatch(/^charger qkc-1 is revoked, so it may run and read nothing; /);
  });
});
