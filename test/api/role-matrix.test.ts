import { randomUUID } from 'node:crypto';
import { commandPolicy, grants, queryPolicy, Rule } from '../../application/access/policy';
import { mutationDocument, mutationFixtures, queryFixtures } from './support/fixtures';
import { Caller, CALLERS, Platform } from './support/platform';

// Every operation with every role and with no token: exactly what the policy grants succeeds;
// every refusal is FORBIDDEN or UNAUTHENTICATED, writes nothing but its AccessDenied event. A
// request without a token is refused before its operation is read, so its denial names
// authentication rather than the operation.

let p: Platform;
beforeAll(async () => {
  const many = { windowMs: 60_000, limit: 100_000 };
  p = await Platform.start({ limits: { rateLimit: many, authenticationFailures: many } });
});
afterAll(() => p.close());

type Outcome = 'ok' | string;

const expected = (rule: Rule): Record<string, Outcome> =>
  Object.fromEntries(
    CALLERS.map((caller) => [
      String(caller),
      caller === null ? 'UNAUTHENTICATED' : grants(rule, caller) ? 'ok' : 'FORBIDDEN',
    ]),
  );

/** Runs the request, then checks a refusal left the log as it was but for its AccessDenied event. */
const attempt = async (caller: Caller, operation: string, send: () => ReturnType<Platform['gql']>): Promise<Outcome> => {
  const before = await p.head();
  const response = await send();
  const errors = response.body.errors ?? [];
  if (errors.length === 0 && response.body.data != null) return 'ok';
  const code: string = errors[0]?.extensions?.code ?? `HTTP ${response.status}`;
  const written = await p.store.readAll({ after: before });
  expect(written.map((e) => e.type)).toEqual(['AccessDenied']);
  expect(written[0].data).toMatchObject({
    principalId: caller === null ? null : p.ids[caller],
    role: caller,
    operation: caller === null ? 'authenticate' : operation,
    reason: code,
  });
  if (caller === null) expect({ status: response.status, errors: errors.length }).toEqual({ status: 401, errors: 1 });
  return code;
};

describe('the role matrix', () => {
  it.each(Object.keys(mutationFixtures))('mutation %s', async (type) => {
    const outcomes: Record<string, Outcome> = {};
    for (const caller of CALLERS) {
      const input = { ...(await mutationFixtures[type](p)), commandId: randomUUID() };
      outcomes[String(caller)] = await attempt(caller, type, () => p.gql(mutationDocument(type), { input }, caller));
    }
    expect(outcomes).toEqual(expected(commandPolicy[type as keyof typeof commandPolicy]));
  });

  it.each(Object.keys(queryFixtures))('query %s', async (operation) => {
    const { document, variables } = queryFixtures[operation];
    const outcomes: Record<string, Outcome> = {};
    for (const caller of CALLERS) {
      const args = await variables(p);
      outcomes[String(caller)] = await attempt(caller, operation, () => p.gql(document, args, caller));
    }
    expect(outcomes).toEqual(expected(queryPolicy[operation as keyof typeof queryPolicy]));
  });

  it('shows refusals in the audit view as REFUSED AccessDenied entries', async () => {
    const refused = await p.gql('{ auditVerify { ok } }', {}, 'GATEWAY');
    expect(refused.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const at = await p.head();
    const audit = await p.gql(
      'query($actor: String!, $at: SafeInt) { audit(filter: { actorId: $actor, action: "AccessDenied" }, consistentWith: $at) { items { outcome actorRole } } }',
      { actor: p.ids.GATEWAY, at },
      'AUDITOR',
    );
    expect(audit.body.errors).toBeUndefined();
    expect(audit.body.data?.audit.items).toContainEqual({ outcome: 'REFUSED', actorRole: 'GATEWAY' });
  });
});
