import { randomUUID } from 'node:crypto';
import { Client } from 'graphql-ws';
import WebSocket from 'ws';
import * as E from 'fp-ts/Either';
import { createPrincipal, revokePrincipal, rotatePrincipalToken } from '../../application/access';
import { FINGERPRINT, mutationDocument } from './support/fixtures';
import { Platform } from './support/platform';
import { closedWith, waitUntil, webSocketClient } from './support/subscribing';

// Subscriptions over graphql-ws on the same path as HTTP, fed by the projector's notifications.

let p: Platform;
const clients: Client[] = [];
beforeAll(async () => {
  p = await Platform.start({ limits: { maxAliases: 3, maxSubscriptionsPerSocket: 2 } });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
  // Every test starts with no subscription left on the projector.
  await waitUntil(() => p.views.projector.listenerCount === 0);
});
afterAll(() => p.close());

const connect = (authorization?: string): Client => {
  const client = webSocketClient(p.wsUrl, authorization);
  clients.push(client);
  return client;
};
const as = (role: keyof Platform['tokens']) => connect(`Bearer ${p.tokens[role]}`);

/** Subscribes; `done` resolves to the first `count` results, `started()` once the server listens for them. */
const collect = (client: Client, query: string, count: number, variables: Record<string, unknown> = {}) => {
  const results: any[] = [];
  const listening = p.views.projector.listenerCount;
  const started = () => waitUntil(() => p.views.projector.listenerCount > listening);
  const done = new Promise<any[]>((resolve, reject) => {
    const unsubscribe = client.subscribe(
      { query, variables },
      {
        next: (result) => {
          results.push(result);
          if (results.length === count) {
            unsubscribe();
            resolve(results);
          }
        },
        error: (error) => reject(error),
        complete: () => resolve(results),
      },
    );
  });
  return { started, done };
};

const initialize = (serial: string) =>
  p.gql(
    mutationDocument('InitializeDevice'),
    { input: { commandId: randomUUID(), serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: FINGERPRINT } },
    'SECURITY_ADMIN',
  );

describe('auditFeed', () => {
  it('delivers the audit entries that match its filter as the views record them', async () => {
    const serial = p.newSerial();
    const feed = collect(
      as('AUDITOR'),
      'subscription($target: String) { auditFeed(filter: { target: $target }) { action target concerns actorRole outcome } }',
      3,
      { target: `device:${serial}` },
    );
    await feed.started();
    await initialize(p.newSerial()); // another device: filtered out
    await initialize(serial);
    await p.gql(mutationDocument('DistributeDevice'), { input: { commandId: randomUUID(), serial, organisation: 'grid-east' } }, 'USER_ADMIN');
    // Refused, on another stream, but about the device: the feed for the device shows it.
    await p.gql(mutationDocument('FreezeDevice'), { input: { commandId: randomUUID(), serial, reason: 'audit' } }, 'AUDITOR');
    expect((await feed.done).map((r) => r.data.auditFeed)).toEqual([
      { action: 'DeviceInitialized', target: `device:${serial}`, concerns: [], actorRole: 'SECURITY_ADMIN', outcome: 'SUCCESS' },
      { action: 'DeviceDistributed', target: `device:${serial}`, concerns: [], actorRole: 'USER_ADMIN', outcome: 'SUCCESS' },
      {
        action: 'AccessDenied',
        target: expect.stringMatching(/^access:/),
        concerns: [`device:${serial}`],
        actorRole: 'AUDITOR',
        outcome: 'REFUSED',
      },
    ]);
  });

  it('takes the stream id a receipt gives as the target, and refuses a serial alone as INVALID_INPUT', async () => {
    const serial = p.newSerial();
    const document = 'subscription($target: String) { auditFeed(filter: { target: $target }) { action target } }';
    const feed = collect(as('AUDITOR'), document, 1, { target: `device-${serial}` });
    await feed.started();
    await initialize(p.newSerial());
    await initialize(serial);
    expect((await feed.done).map((r) => r.data.auditFeed)).toEqual([{ action: 'DeviceInitialized', target: `device:${serial}` }]);
    const [refused] = await collect(as('AUDITOR'), document, 1, { target: serial }).done;
    expect(refused.errors).toEqual([
      expect.objectContaining({ message: expect.stringMatching(/^target: must name a target as kind:id/), extensions: expect.objectContaining({ code: 'INVALID_INPUT' }) }),
    ]);
  });

  it('refuses a role the policy does not let read the audit, as FORBIDDEN, and audits the refusal', async () => {
    const before = await p.head();
    const feed = collect(as('GATEWAY'), 'subscription { auditFeed { action } }', 1);
    const [result] = await feed.done;
    expect(result.errors).toEqual([expect.objectContaining({ extensions: { code: 'FORBIDDEN' } })]);
    const written = await p.store.readAll({ after: before });
    expect(written.map((e) => [e.type, (e.data as { operation: string }).operation])).toEqual([['AccessDenied', 'audit']]);
  });
});

describe('deviceChanged', () => {
  it('sends the device view after each change to the one device named', async () => {
    const serial = await p.device('ACTIVE');
    const other = await p.device('ACTIVE');
    const feed = collect(as('USER_ADMIN'), 'subscription($serial: String) { deviceChanged(serial: $serial) { serial status } }', 2, { serial });
    await feed.started();
    await p.gql(mutationDocument('FreezeDevice'), { input: { commandId: randomUUID(), serial: other, reason: 'audit' } }, 'USER_ADMIN');
    await p.gql(mutationDocument('FreezeDevice'), { input: { commandId: randomUUID(), serial, reason: 'audit' } }, 'USER_ADMIN');
    await p.gql(mutationDocument('RestoreDevice'), { input: { commandId: randomUUID(), serial } }, 'USER_ADMIN');
    expect((await feed.done).map((r) => r.data.deviceChanged)).toEqual([
      { serial, status: 'FROZEN' },
      { serial, status: 'ACTIVE' },
    ]);
  });

  it('removes its listener from the projector when the client unsubscribes', async () => {
    const feed = collect(as('USER_ADMIN'), 'subscription { deviceChanged { serial } }', 1);
    await feed.started();
    expect(p.views.projector.listenerCount).toBe(1);
    await initialize(p.newSerial());
    await feed.done;
    await waitUntil(() => p.views.projector.listenerCount === 0);
  });
});

describe('the WebSocket path', () => {
  const closeOf = async (client: Client) => {
    const { done } = collect(client, 'subscription { deviceChanged { serial } }', 1);
    return done.then(
      () => undefined,
      (error: { code?: number; reason?: string }) => ({ code: error.code, reason: error.reason }),
    );
  };

  it('closes a connection with an unknown token at connect (4401), and audits the attempt', async () => {
    const before = await p.head();
    expect(await closeOf(connect(`Bearer qkmp_${'B'.repeat(43)}`))).toEqual({ code: 4401, reason: expect.stringMatching(/^Unauthorized/) });
    const written = await p.store.readAll({ after: before });
    expect(written.map((e) => [e.type, (e.data as { operation: string }).operation])).toEqual([['AccessDenied', 'authenticate']]);
  });

  it('closes a connection without a token at connect (4401)', async () => {
    expect(await closeOf(connect())).toEqual({ code: 4401, reason: expect.stringMatching(/connectionParams\.authorization/) });
  });

  it('applies the same validation rules as HTTP, without schema hints', async () => {
    const aliases = collect(as('AUDITOR'), 'subscription { auditFeed { a: action b: action c: action d: action } }', 1);
    await expect(aliases.done).rejects.toEqual([expect.objectContaining({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })]);
    const unknown = collect(as('AUDITOR'), 'subscription { auditFeed { actio } }', 1);
    const rejected = await unknown.done.catch((errors) => errors);
    expect(rejected[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(rejected[0].message).not.toMatch(/Did you mean/);
  });

  it('serves only subscriptions: queries and mutations go over HTTP', async () => {
    const query = collect(as('AUDITOR'), '{ viewsStatus { position } }', 1);
    await expect(query.done).rejects.toEqual([
      expect.objectContaining({ message: expect.stringMatching(/only subscriptions/), extensions: { code: 'BAD_REQUEST' } }),
    ]);
  });

  it('limits subscriptions per connection', async () => {
    const client = as('AUDITOR');
    const first = collect(client, 'subscription { auditFeed { action } }', 1);
    const second = collect(client, 'subscription { auditFeed { target } }', 1);
    await Promise.all([first.started(), second.started()]);
    await waitUntil(() => p.views.projector.listenerCount === 2);
    const third = collect(client, 'subscription { auditFeed { outcome } }', 1);
    await expect(third.done).rejects.toEqual([expect.objectContaining({ extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } })]);
    await initialize(p.newSerial());
    await Promise.all([first.done, second.done]);
  });
});


describe('connections', () => {
  let q: Platform;
  beforeAll(async () => {
    q = await Platform.start({ limits: { maxWebSockets: 1, webSocketRecheckMs: 50 } });
  });
  afterAll(() => q.close());

  const auditor = async () => {
    const issued = await createPrincipal(q.bus, { name: 'night auditor', role: 'AUDITOR' });
    if (E.isLeft(issued)) throw new Error(issued.left.message);
    await q.access.caughtUpTo(issued.right.position);
    return issued.right;
  };
  /** A subscription on `q` with `token`; resolves to how its connection was closed. */
  const subscribed = async (token: string) => {
    const client = webSocketClient(q.wsUrl, `Bearer ${token}`);
    clients.push(client);
    const closed = closedWith(client);
    client.subscribe({ query: 'subscription { auditFeed { action } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    await waitUntil(() => q.views.projector.listenerCount === 1);
    return { client, closed };
  };
  afterEach(() => waitUntil(() => q.views.projector.listenerCount === 0));

  it('ends the subscriptions of a principal once it is revoked', async () => {
    const { principalId, token } = await auditor();
    const { closed } = await subscribed(token);
    const revoked = await revokePrincipal(q.bus, principalId, 'left the company');
    if (E.isLeft(revoked)) throw new Error(revoked.left.message);
    expect(await closed).toEqual({ code: 4401, reason: expect.stringMatching(/revoked or rotated; reconnect/) });
  });

  it('ends the subscriptions of a token once it is rotated away', async () => {
    const { principalId, token } = await auditor();
    const { closed } = await subscribed(token);
    const rotated = await rotatePrincipalToken(q.bus, principalId);
    if (E.isLeft(rotated)) throw new Error(rotated.left.message);
    expect((await closed).code).toBe(4401);
  });

  it('keeps the subscriptions of a token that still works, and refuses connections past the cap with 503', async () => {
    const { token } = await auditor();
    const { client, closed } = await subscribed(token);
    const refused = await new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(q.wsUrl, 'graphql-transport-ws');
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('open', () => reject(new Error('a connection past the cap was accepted')));
      socket.on('error', () => undefined);
    });
    expect(refused).toBe(503);
    // Several rechecks later the connection is still open.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(q.views.projector.listenerCount).toBe(1);
    await client.dispose();
    expect((await closed).code).toBe(1000);
  });
});

describe('error masking over WebSocket', () => {
  it('replaces an unexpected error in a subscription by a generic one, as over HTTP', async () => {
    const logged: string[] = [];
    const masked = await Platform.start({
      log: (event, fields) => logged.push(`${event} ${JSON.stringify(fields)}`),
      override: (deps) => ({
        ...deps,
        readModels: {
          ...deps.readModels,
          device: async () => {
            throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value (qkmp:device:x)');
          },
        },
      }),
    });
    const client = webSocketClient(masked.wsUrl, `Bearer ${masked.tokens.USER_ADMIN}`);
    try {
      const serial = await masked.device('ACTIVE');
      const result = new Promise<any>((resolve, reject) => {
        client.subscribe({ query: 'subscription { deviceChanged { serial } }' }, { next: resolve, error: reject, complete: () => undefined });
      });
      await waitUntil(() => masked.views.projector.listenerCount === 1);
      await masked.system('FreezeDevice', { serial, reason: 'audit' });
      const { errors } = await result;
      expect(errors).toEqual([
        { message: expect.stringMatching(/^Internal server error/), path: ['deviceChanged'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      ]);
      expect(logged.join()).toMatch(/WRONGTYPE/);
    } finally {
      await client.dispose();
      await masked.close();
    }
  });
});

describe('revocation', () => {
  // No periodic recheck within a test: only the notice of the applied event can close a socket.
  let r: Platform;
  beforeAll(async () => {
    r = await Platform.start({ limits: { webSocketRecheckMs: 3_600_000 } });
  });
  afterAll(() => r.close());

  const auditFeed = (token: string) => {
    const client = webSocketClient(r.wsUrl, `Bearer ${token}`);
    clients.push(client);
    const targets: string[] = [];
    const closed = closedWith(client);
    client.subscribe(
      { query: 'subscription { auditFeed { target } }' },
      { next: (result: any) => targets.push(result.data.auditFeed.target), error: () => undefined, complete: () => undefined },
    );
    return { targets, closed };
  };
  const auditor = async () => {
    const issued = await createPrincipal(r.bus, { name: 'night auditor', role: 'AUDITOR' });
    if (E.isLeft(issued)) throw new Error(issued.left.message);
    await r.access.caughtUpTo(issued.right.position);
    return issued.right;
  };

  it('closes a revoked principal’s subscriptions as the process applies the revocation, and sends it nothing after', async () => {
    const { principalId, token } = await auditor();
    const revokedFeed = auditFeed(token);
    const otherFeed = auditFeed(r.tokens.AUDITOR);
    await waitUntil(() => r.views.projector.listenerCount === 2);
    const revoked = await revokePrincipal(r.bus, principalId, 'left the company');
    if (E.isLeft(revoked)) throw new Error(revoked.left.message);
    await r.access.caughtUpTo(revoked.right.position);
    const serial = r.newSerial();
    await r.system('InitializeDevice', { serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: FINGERPRINT });
    // The other auditor's feed shows the entry was sent; the revoked one's socket was closed before it.
    await waitUntil(() => otherFeed.targets.includes(`device:${serial}`));
    expect(await revokedFeed.closed).toEqual({ code: 4401, reason: expect.stringMatching(/revoked or rotated; reconnect/) });
    expect(revokedFeed.targets).not.toContain(`device:${serial}`);
  });

  it('closes the connections of a rotated-away token at once, and keeps those of the token that replaced it', async () => {
    const { principalId, token } = await auditor();
    const old = auditFeed(token);
    await waitUntil(() => r.views.projector.listenerCount === 1);
    const rotated = await rotatePrincipalToken(r.bus, principalId);
    if (E.isLeft(rotated)) throw new Error(rotated.left.message);
    expect((await old.closed).code).toBe(4401);
    const current = auditFeed(rotated.right.token);
    await waitUntil(() => r.views.projector.listenerCount === 1);
    const serial = r.newSerial();
    await r.system('InitializeDevice', { serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: FINGERPRINT });
    await waitUntil(() => current.targets.includes(`device:${serial}`));
  });
});

describe('admission', () => {
  let a: Platform;
  beforeAll(async () => {
    a = await Platform.start({
      limits: { maxWebSockets: 5, maxWebSocketsPerAddress: 3, maxUnauthenticatedWebSocketsPerAddress: 2, webSocketInitTimeoutMs: 60_000 },
    });
  });
  afterAll(() => a.close());
  const sockets: WebSocket[] = [];
  afterEach(() => sockets.splice(0).forEach((socket) => socket.terminate()));

  /** A raw socket from `from` (any loopback address); resolves once open, or to the refusal's status and body. */
  const open = (from: string, platform = a, headers: Record<string, string> = {}) =>
    new Promise<{ socket: WebSocket } | { status: number; body: string }>((resolve) => {
      const socket = new WebSocket(platform.wsUrl, 'graphql-transport-ws', { localAddress: from, headers });
      sockets.push(socket);
      socket.on('open', () => resolve({ socket }));
      socket.on('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      socket.on('error', () => undefined);
    });
  /** Opens and authenticates a socket; resolves once acknowledged. */
  const authenticated = async (from: string) => {
    const opened = await open(from);
    if (!('socket' in opened)) throw new Error(`refused: ${opened.status} ${opened.body}`);
    const { socket } = opened;
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${a.tokens.AUDITOR}` } }));
    await new Promise<void>((resolve) => socket.once('message', () => resolve()));
    return socket;
  };

  it('lets one address hold only a few connections that send no connection_init, so others still get in', async () => {
    const opened: WebSocket[] = [];
    let refused: { status: number; body: string } | undefined;
    while (refused === undefined) {
      const attempt = await open('127.0.0.2');
      if ('socket' in attempt) opened.push(attempt.socket);
      else refused = attempt;
    }
    expect(opened).toHaveLength(2);
    expect(refused).toEqual({ status: 429, body: expect.stringMatching(/^at most 2 WebSocket connections from one address may wait for connection_init/) });
    // Another address subscribes as usual.
    const client = webSocketClient(a.wsUrl, `Bearer ${a.tokens.AUDITOR}`);
    clients.push(client);
    const entry = new Promise((resolve, reject) =>
      client.subscribe({ query: 'subscription { auditFeed { action } }' }, { next: resolve, error: reject, complete: () => undefined }),
    );
    await waitUntil(() => a.views.projector.listenerCount === 1);
    await a.system('InitializeDevice', { serial: a.newSerial(), kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: FINGERPRINT });
    expect(await entry).toEqual({ data: { auditFeed: { action: 'DeviceInitialized' } } });
  });

  it('caps the open connections of one address, authenticated or not', async () => {
    for (let i = 0; i < 3; i++) sockets.push(await authenticated('127.0.0.3'));
    expect(await open('127.0.0.3')).toEqual({ status: 429, body: expect.stringMatching(/^at most 3 WebSocket connections from one address; close one/) });
    // A closed connection frees its slot.
    sockets[0].close();
    await new Promise((resolve) => sockets[0].once('close', resolve));
    await expect(authenticated('127.0.0.3')).resolves.toBeInstanceOf(WebSocket);
  });

  it('authenticates a token in the upgrade request before the upgrade: such connections are not held to the unauthenticated cap', async () => {
    const authorization = `Bearer ${a.tokens.AUDITOR}`;
    const opened = await Promise.all([1, 2, 3].map(() => open('127.0.0.5', a, { authorization })));
    expect(opened).toEqual([1, 2, 3].map(() => ({ socket: expect.any(WebSocket) })));
    expect(await open('127.0.0.5', a, { authorization })).toEqual({ status: 429, body: expect.stringMatching(/^at most 3 WebSocket connections from one address/) });
    // connection_init needs no payload then, and the connection serves subscriptions.
    const { socket } = opened[0] as { socket: WebSocket };
    const messages: any[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    socket.send(JSON.stringify({ type: 'connection_init' }));
    await waitUntil(() => messages.length === 1);
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { auditFeed { action } }' } }));
    await waitUntil(() => a.views.projector.listenerCount === 1);
    await a.system('InitializeDevice', { serial: a.newSerial(), kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: FINGERPRINT });
    await waitUntil(() => messages.length === 2);
    expect(messages).toEqual([{ type: 'connection_ack' }, { id: '1', type: 'next', payload: { data: { auditFeed: { action: 'DeviceInitialized' } } } }]);
  });

  it('refuses an unknown token in the upgrade request with 401 before the upgrade, and audits it', async () => {
    const before = await a.head();
    expect(await open('127.0.0.6', a, { authorization: `Bearer qkmp_${'B'.repeat(43)}` })).toEqual({
      status: 401,
      body: expect.stringMatching(/^the bearer token is not valid/),
    });
    const written = await a.store.readAll({ after: before });
    expect(written.map((e) => [e.type, (e.data as { operation: string }).operation])).toEqual([['AccessDenied', 'authenticate']]);
  });

  it('closes a connection that sends no connection_init in time (4408), freeing its slot', async () => {
    const quick = await Platform.start({ limits: { maxUnauthenticatedWebSocketsPerAddress: 1, webSocketInitTimeoutMs: 50 } });
    try {
      const first = await open('127.0.0.4', quick);
      if (!('socket' in first)) throw new Error(`refused: ${first.status}`);
      expect(await open('127.0.0.4', quick)).toEqual(expect.objectContaining({ status: 429 }));
      const code = await new Promise((resolve) => first.socket.once('close', resolve));
      expect(code).toBe(4408);
      expect(await open('127.0.0.4', quick)).toEqual({ socket: expect.any(WebSocket) });
    } finally {
      sockets.splice(0).forEach((socket) => socket.terminate());
      await quick.close();
    }
  }, 2000);
});

describe('subscriptions against the rate limit', () => {
  let limited: Platform;
  beforeAll(async () => {
    limited = await Platform.start({ limits: { rateLimit: { windowMs: 60_000, limit: 30, refusalWeight: 10 } } });
  });
  afterAll(() => limited.close());

  it("count in the principal's window with their refusals, so refused subscribes cannot flood the audit", async () => {
    const client = webSocketClient(limited.wsUrl, `Bearer ${limited.tokens.GATEWAY}`);
    const answer = () =>
      new Promise<string | undefined>((resolve) => {
        client.subscribe(
          { query: 'subscription { auditFeed { action } }' },
          {
            next: (result) => resolve(result.errors?.[0].extensions?.code as string | undefined),
            error: (errors) => resolve((errors as { extensions?: { code?: string } }[])[0]?.extensions?.code),
            complete: () => undefined,
          },
        );
      });
    try {
      const before = await limited.head();
      const codes: (string | undefined)[] = [];
      for (let i = 0; i < 4; i++) codes.push(await answer());
      // Each refusal counts ten: after three the window of 30 is spent, and the fourth is not audited.
      expect(codes).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN', 'RATE_LIMITED']);
      const written = await limited.store.readAll({ after: before });
      expect(written.filter((e) => e.type === 'AccessDenied')).toHaveLength(3);
      expect((await limited.gql('{ viewsStatus { position } }', {}, 'GATEWAY')).status).toBe(429);
    } finally {
      await client.dispose();
    }
  });
});
