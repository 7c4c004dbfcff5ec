import { randomUUID } from 'node:crypto';
import { commandPolicy, grants, queryPolicy, Rule } from '../../application/access/policy';
import { mutationDocument, mutationFixtures, queryFixtures } from './support/fixtures';
import { Caller, CALLERS, GraphQLResponse, Platform } from './support/platform';
import { waitUntil, webSocketClient } from './support/subscribing';

// Every operation with every role and with no token, subscriptions included: exactly what the
// policy grants succeeds; every refusal is FORBIDDEN or UNAUTHENTICATED, writes nothing but its
// AccessDenied event. A request (or WebSocket) without a token is refused before its operation is
// read, so its denial names authentication rather than the operation.

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

/** Runs the operation, then checks a refusal left the log as it was but for its AccessDenied event. */
const attempt = async (caller: Caller, operation: string, run: () => Promise<Outcome>): Promise<Outcome> => {
  const before = await p.head();
  const code = await run();
  if (code === 'ok') return code;
  // A WebSocket's refusal may reach the client as its event is being written.
  let written = await p.store.readAll({ after: before });
  for (const deadline = Date.now() + 2000; written.length === 0 && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    written = await p.store.readAll({ after: before });
  }
  expect(written.map((e) => e.type)).toEqual(['AccessDenied']);
  expect(written[0].data).toMatchObject({
    principalId: caller === null ? null : p.ids[caller],
    role: caller,
    operation: caller === null ? 'authenticate' : operation,
    reason: code,
  });
  return code;
};

/** The outcome of an HTTP request: a request without a token gets one 401 with one error. */
const overHttp = (caller: Caller, send: () => Promise<GraphQLResponse>) => async (): Promise<Outcome> => {
  const response = await send();
  const errors = response.body.errors ?? [];
  if (errors.length === 0 && response.body.data != null) return 'ok';
  if (caller === null) expect({ status: response.status, errors: errors.length }).toEqual({ status: 401, errors: 1 });
  return errors[0]?.extensions?.code ?? `HTTP ${response.status}`;
};

/**
 * The outcome of a subscribe: 'ok' once the server listens for changes, else the refusal's code,
 * or UNAUTHENTICATED when the socket is closed as Unauthorized (4401) for want of a token.
 */
const overWebSocket = (caller: Caller, query: string, variables: Record<string, unknown>) => async (): Promise<Outcome> => {
  const client = webSocketClient(p.wsUrl, caller === null ? undefined : `Bearer ${p.tokens[caller]}`);
  const listening = p.views.projector.listenerCount;
  let settled = false;
  try {
    return await new Promise<Outcome>((resolve) => {
      const settle = (outcome: Outcome) => {
        settled = true;
        resolve(outcome);
      };
      client.subscribe(
        { query, variables },
        {
          next: (result) => settle((result.errors?.[0]?.extensions?.code as string) ?? 'a result before any change'),
          error: (error) =>
            settle(
              Array.isArray(error) ? error[0]?.extensions?.code : (error as { code?: number }).code === 4401 ? 'UNAUTHENTICATED' : String(error),
            ),
          complete: () => settle('completed'),
        },
      );
      // Stops polling once the subscribe is answered either way.
      waitUntil(() => settled || p.views.projector.listenerCount > listening).then(
        () => settle('ok'),
        () => settle('neither listening nor refused'),
      );
    });
  } finally {
    await client.dispose();
    // The next caller's subscribe is told apart by the count going up again.
    await waitUntil(() => p.views.projector.listenerCount === listening);
  }
};

describe('the role matrix', () => {
  it.each(Object.keys(mutationFixtures))('mutation %s', async (type) => {
    const outcomes: Record<string, Outcome> = {};
    for (const caller of CALLERS) {
      const input = { ...(await mutationFixtures[type](p)), commandId: randomUUID() };
      outcomes[String(caller)] = await attempt(caller, type, overHttp(caller, () => p.gql(mutationDocument(type), { input }, caller)));
    }
    expect(outcomes).toEqual(expected(commandPolicy[type as keyof typeof commandPolicy]));
  });

  it.each(Object.keys(queryFixtures))('query %s', async (operation) => {
    const { document, variables } = queryFixtures[operation];
    const outcomes: Record<string, Outcome> = {};
    for (const caller of CALLERS) {
      const args = await variables(p);
      outcomes[String(caller)] = await attempt(caller, operation, overHttp(caller, () => p.gql(document, args, caller)));
    }
    expect(outcomes).toEqual(expected(queryPolicy[operation as keyof typeof queryPolicy]));
  });

  // Each subscription is authorized as the query whose entries it sends.
  const subscriptions = {
    auditFeed: { query: 'subscription { auditFeed { action } }', variables: async () => ({}), as: 'audit' },
    'deviceChanged(serial)': {
      query: 'subscription($serial: String) { deviceChanged(serial: $serial) { status } }',
      variables: async () => ({ serial: await p.device('ACTIVE') }),
      as: 'device',
    },
    deviceChanged: { query: 'subscription { deviceChanged { status } }', variables: async () => ({}), as: 'devices' },
  } as const;

  it.each(Object.keys(subscriptions))('subscription %s', async (name) => {
    const { query, variables, as } = subscriptions[name as keyof typeof subscriptions];
    const outcomes: Record<string, Outcome> = {};
    for (const caller of CALLERS) outcomes[String(caller)] = await attempt(caller, as, overWebSocket(caller, query, await variables()));
    expect(outcomes).toEqual(expected(queryPolicy[as]));
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
