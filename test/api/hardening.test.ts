import { buildASTSchema, concatAST, getNamedType, GraphQLNamedType, isObjectType, parse } from 'graphql';
import { typeDefs } from '../../api/schema';
import { MAX_PAGE_SIZE } from '../../read-models/paging';
import { codeOf, expectNoInternals } from './support/expectations';
import { GraphQLResponse, Platform } from './support/platform';

describe('request limits', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await Platform.start({ limits: { maxDepth: 2, maxAliases: 3, maxTokens: 120, maxBodyBytes: 2048 } });
  });
  afterAll(() => p.close());

  it('refuses an operation deeper than the depth limit', async () => {
    expect(codeOf(await p.gql('{ viewsStatus { position } }', {}, 'AUDITOR'))).toBeUndefined();
    const deep = await p.gql('{ audit { items { action } } }', {}, 'AUDITOR');
    expect(deep.status).toBe(400);
    expect(codeOf(deep)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(deep.body.errors?.[0].message).toMatch(/over the limit of 2/);
  });

  it('refuses more aliases than the alias limit', async () => {
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewsStatus { position }`).join(' ')} }`;
    expect(codeOf(await p.gql(aliases(3), {}, 'AUDITOR'))).toBeUndefined();
    const many = await p.gql(aliases(4), {}, 'AUDITOR');
    expect(many.status).toBe(400);
    expect(codeOf(many)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(many.body.errors?.[0].message).toMatch(/uses 4 aliases, over the limit of 3; send fewer aliased fields/);
  });

  it('says what an operation exceeded and what to do, not that it is a syntax error', async () => {
    const deep = await p.gql('{ audit { items { action } } }', {}, 'AUDITOR');
    expect(deep.body.errors?.map((e) => e.message)).toEqual([
      'the operation nests fields 3 levels deep, over the limit of 2; select fewer levels of nested fields',
    ]);
  });

  it('refuses a document with more tokens than the parser limit, with 400 rather than 500', async () => {
    const response = await p.gql(`{ ${'x '.repeat(200)}}`, {}, 'AUDITOR');
    expect(response.status).toBe(400);
    expect(codeOf(response)).toBe('GRAPHQL_PARSE_FAILED');
    expect(response.body.errors?.[0].message).toMatch(/120 tokens/);
  });

  it('refuses batched requests', async () => {
    const one = { query: '{ viewsStatus { position } }' };
    const response = await p.post(JSON.stringify([one, one]), p.tokens.AUDITOR);
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toMatch(/batching/i);
  });

  it('refuses an oversized body with a JSON 413', async () => {
    const body = JSON.stringify({ query: '{ viewsStatus { position } }', variables: { padding: 'x'.repeat(4096) } });
    const response = await p.post(body, p.tokens.AUDITOR);
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(response.body).toEqual({
      errors: [{ message: 'the request body exceeds 2048 bytes; send a smaller request', extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
    });
  });

  it('refuses a body that grows past the limit without declaring its length', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) => (sent++ < 4 ? controller.enqueue(chunk) : controller.close()),
    });
    const response = await fetch(p.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${p.tokens.AUDITOR}` },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(codeOf({ status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse['body'] })).toBe(
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('answers any other path with a JSON 404 that says where GraphQL is', async () => {
    for (const target of ['/', '/graphql/extra', '/favicon.ico']) {
      const response = await fetch(new URL(target, p.url));
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        errors: [{ message: 'nothing is served at this path; GraphQL is at /graphql', extensions: { code: 'NOT_FOUND' } }],
      });
    }
  });

  it('reads JSON only in UTF-8 and uncompressed', async () => {
    const query = JSON.stringify({ query: '{ viewsStatus { position } }' });
    expect((await p.post(query, p.tokens.AUDITOR, { 'content-type': 'application/json; charset=UTF-8' })).status).toBe(200);
    expect((await p.post(query, p.tokens.AUDITOR, { 'content-type': 'application/json; charset=latin1' })).status).toBe(415);
    expect((await p.post(query, p.tokens.AUDITOR, { 'content-encoding': 'gzip' })).status).toBe(415);
  });

  it('runs the operation named, and refuses a choice it cannot make or a subscription', async () => {
    const two = 'query A { viewsStatus { position } } query B { pools { sourceId } }';
    const named = await p.post(JSON.stringify({ query: two, operationName: 'B' }), p.tokens.AUDITOR);
    expect(named.body).toEqual({ data: { pools: [] } });
    const unnamed = await p.post(JSON.stringify({ query: two }), p.tokens.AUDITOR);
    expect(unnamed.status).toBe(400);
    expect(codeOf(unnamed)).toBe('OPERATION_RESOLUTION_FAILURE');
    const unknown = await p.post(JSON.stringify({ query: two, operationName: 'C' }), p.tokens.AUDITOR);
    expect(codeOf(unknown)).toBe('OPERATION_RESOLUTION_FAILURE');
    const subscription = await p.gql('subscription { auditFeed { action } }', {}, 'AUDITOR');
    expect(subscription.status).toBe(400);
    expect(subscription.body.errors?.[0].message).toMatch(/WebSocket/);
  });

  it('refuses a body that is not one GraphQL request', async () => {
    for (const body of ['{"query": 42}', '"{ viewsStatus { position } }"', '{"query": "{ viewsStatus { position } }", "variables": [1]}']) {
      const response = await p.post(body, p.tokens.AUDITOR);
      expect(response.status).toBe(400);
      expect(codeOf(response)).toBe('BAD_REQUEST');
    }
  });

  it('answers a body that is not JSON with a JSON 400', async () => {
    const response = await p.post('{"query": ', p.tokens.AUDITOR);
    expect(response.status).toBe(400);
    expect(codeOf(response)).toBe('BAD_REQUEST');
    expectNoInternals(response);
  });

  it('says where a body is not JSON and how to send a query pasted with its line breaks', async () => {
    // The line breaks go into the JSON string unescaped, as a paste into curl's -d sends them.
    const response = await p.post('{"query": "{\n  viewsStatus { position }\n}"}', p.tokens.AUDITOR);
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0].message).toMatch(
      /^the request body is not valid JSON \(Bad control character in string literal in JSON at position 12.*\); .*line breaks written as \\n and its double quotes as \\"/,
    );
  });

  it('blocks requests a browser could send cross-site without a preflight (CSRF)', async () => {
    const get = await fetch(`${p.url}?query=${encodeURIComponent('{ viewsStatus { position } }')}`, {
      headers: { authorization: `Bearer ${p.tokens.AUDITOR}` },
    });
    expect(get.status).toBe(400);
    expect(await get.text()).toMatch(/Cross-Site Request Forgery/);
    const form = await p.post('{ viewsStatus { position } }', p.tokens.AUDITOR, { 'content-type': 'text/plain' });
    expect(form.status).toBe(400);
    expect(JSON.stringify(form.body)).toMatch(/Cross-Site Request Forgery/);
  });

  it('answers a query over GET only with a header a cross-site form cannot set, and never a mutation', async () => {
    const get = (query: string) =>
      fetch(`${p.url}?query=${encodeURIComponent(query)}`, {
        headers: { authorization: `Bearer ${p.tokens.SECURITY_ADMIN}`, 'apollo-require-preflight': 'true' },
      });
    const query = await get('{ pools { sourceId } }');
    expect(query.status).toBe(200);
    expect(query.headers.get('cache-control')).toBe('no-store');
    expect(await query.json()).toEqual({ data: { pools: [] } });
    const before = await p.head();
    const fingerprint = 'a'.repeat(64);
    const mutation = await get(
      `mutation { initializeDevice(input: { commandId: "hardening-get-0001", serial: "UKEY-GET-0001", kind: UKEY, ` +
        `credentialKind: CERTIFICATE, credentialFingerprint: "${fingerprint}" }) { position } }`,
    );
    expect(mutation.status).toBe(405);
    expect(mutation.headers.get('allow')).toBe('POST');
    const refused = (await mutation.json()) as GraphQLResponse['body'];
    expect(refused.errors?.[0].message).toMatch(/GET requests only support query operations/);
    expect(await p.head()).toBe(before);
  });

  it('answers a token it does not know with 401 UNAUTHENTICATED, and audits the attempt', async () => {
    const before = await p.head();
    const response = await p.gql('{ viewsStatus { position } }', {}, { token: `qkmp_${'A'.repeat(43)}` });
    expect(response.status).toBe(401);
    expect(codeOf(response)).toBe('UNAUTHENTICATED');
    expect(response.body.errors?.[0].message).toMatch(/ask whoever runs the platform for a current token/);
    const written = await p.store.readAll({ after: before });
    expect(written.map((e) => [e.type, (e.data as { operation: string }).operation])).toEqual([['AccessDenied', 'authenticate']]);
  });
});

describe('requests without a working token', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await Platform.start({ production: true, limits: { authenticationFailures: { windowMs: 60_000, limit: 100 } } });
  });
  afterAll(() => p.close());

  /** An operation as big as the limits allow: every query field, and 15 aliases of one. */
  const everyField =
    `{ ${Array.from({ length: 14 }, (_, i) => `d${i}: device(serial: "UKEY-${i}") { serial }`).join(' ')} ` +
    'device(serial: "UKEY-X") { serial } devices { total } deviceBalance(serial: "UKEY-X") { remaining } ' +
    'poolBalance(sourceId: "bb84") { available } pools { sourceId } charger(chargerId: "kiosk-1") { chargerId } ' +
    'chargers { total } audit { total } auditStats { total } auditVerify { ok } viewsStatus { position } }';

  it('answers a request without a token with one 401 UNAUTHENTICATED, however many fields it asks, and audits it once', async () => {
    const before = await p.head();
    const response = await p.gql(everyField);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="qkmp"');
    expect(response.body).toEqual({
      errors: [{ message: expect.stringMatching(/send an Authorization header "Bearer <token>"/), extensions: { code: 'UNAUTHENTICATED' } }],
    });
    const written = await p.store.readAll({ after: before });
    expect(written.map((e) => [e.type, e.data])).toEqual([
      ['AccessDenied', { principalId: null, role: null, operation: 'authenticate', target: null, reason: 'UNAUTHENTICATED' }],
    ]);
  });

  it('tells a request without a token nothing about the schema: every operation, valid or not, gets the same answer', async () => {
    const answers = await Promise.all(
      ['{ audit { items { secretField } } }', '{ audit { items { action } } }', '{ audit { ', '{ __schema { types { name } } }'].map(
        async (query) => {
          const { status, body } = await p.gql(query);
          return { status, body };
        },
      ),
    );
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(answers[0].status).toBe(401);
    expect(JSON.stringify(answers[0].body)).not.toMatch(/secretField|AuditEntry|Cannot query/);
  });

  it('tells a refused token from a missing one in WWW-Authenticate', async () => {
    const response = await p.gql('{ pools { sourceId } }', {}, { token: `qkmp_${'D'.repeat(43)}` });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="qkmp", error="invalid_token"');
  });
});

describe('refused requests per address', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await Platform.start({ limits: { authenticationFailures: { windowMs: 60_000, limit: 2 } } });
  });
  afterAll(() => p.close());

  it('does not count tokens that work', async () => {
    for (let i = 0; i < 3; i++) expect((await p.gql('{ pools { sourceId } }', {}, 'USER_ADMIN')).status).toBe(200);
  });

  it('audits at most the limit of unknown tokens and requests without one, then refuses without auditing', async () => {
    const unknown = { token: `qkmp_${'C'.repeat(43)}` };
    const before = await p.head();
    const answers = await Promise.all([
      ...[1, 2, 3].map(() => p.gql('{ pools { sourceId } }', {}, unknown)),
      ...[1, 2, 3].map(() => p.gql('{ pools { sourceId } }')),
    ]);
    expect(answers.map((answer) => answer.status).sort()).toEqual([401, 401, 429, 429, 429, 429]);
    const limited = answers.find((answer) => answer.status === 429)!;
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.errors?.[0].message).toMatch(/too many requests without a working token from this address: at most 2 every 60 s/);
    const written = await p.store.readAll({ after: before });
    expect(written.map((e) => e.type)).toEqual(['AccessDenied', 'AccessDenied']);
    // Until the window ends, nothing the address sends without a working token is audited.
    expect((await p.gql('{ pools { sourceId } }')).status).toBe(429);
    expect(await p.head()).toBe(written[written.length - 1].position);
  });

  it('lets a working token from an address past its limit through: others behind it cannot lock it out', async () => {
    expect((await p.gql('{ pools { sourceId } }')).status).toBe(429);
    const response = await p.gql('{ pools { sourceId } }', {}, 'USER_ADMIN');
    expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { data: { pools: [] } } });
  });
});

describe('rate limit', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await Platform.start({ limits: { rateLimit: { windowMs: 60_000, limit: 3 } } });
  });
  afterAll(() => p.close());

  it('counts per principal: one console over its quota gets a JSON 429, the others go on', async () => {
    const status = () => p.gql('{ viewsStatus { position } }', {}, 'AUDITOR');
    for (let i = 0; i < 3; i++) {
      const allowed = await status();
      expect(allowed.status).toBe(200);
      expect(allowed.headers.get('ratelimit')).toBe(`"3-in-60sec"; r=${2 - i}; t=60`);
      expect(allowed.headers.get('ratelimit-policy')).toBe('"3-in-60sec"; q=3; w=60');
    }
    const limited = await status();
    expect(limited.status).toBe(429);
    expect(codeOf(limited)).toBe('RATE_LIMITED');
    expect(limited.body.errors?.[0].message).toMatch(/at most 3 every 60 s per principal/);
    expect(limited.headers.get('ratelimit')).toMatch(/r=0/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await p.gql('{ pools { sourceId } }', {}, 'USER_ADMIN')).status).toBe(200);
  });
});

describe('refusals against the rate limit', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await Platform.start({ limits: { rateLimit: { windowMs: 60_000, limit: 100, refusalWeight: 10 } } });
  });
  afterAll(() => p.close());

  it('counts each refusal ten requests, so aliases cannot flood the audit, though each refusal is audited', async () => {
    const aliases = Array.from({ length: 15 }, (_, i) => `a${i}: device(serial: "UKEY-000001") { serial }`).join(' ');
    const before = await p.head();
    const refused = await p.gql(`{ ${aliases} }`, {}, 'GATEWAY');
    expect(refused.status).toBe(200);
    expect(refused.body.errors?.map((e) => e.extensions?.code)).toEqual(Array(15).fill('FORBIDDEN'));
    // 1 + 15 x 10 > 100: the principal's window is spent.
    const next = await p.gql('{ viewsStatus { position } }', {}, 'GATEWAY');
    expect(next.status).toBe(429);
    const written = await p.store.readAll({ after: before });
    expect(written.filter((e) => e.type === 'AccessDenied')).toHaveLength(15);
    // Another principal is not held back.
    expect((await p.gql('{ pools { sourceId } }', {}, 'USER_ADMIN')).status).toBe(200);
  });
});

describe('caching', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await Platform.start();
  });
  afterAll(() => p.close());

  it('forbids every cache to keep an answer, refusals included, and sends no ETag', async () => {
    const answers = [
      await p.gql('{ pools { sourceId } }', {}, 'USER_ADMIN'),
      await p.gql('{ pools { sourceId } }', {}, { token: `qkmp_${'B'.repeat(43)}` }),
      await p.post('{"query": ', p.tokens.AUDITOR),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 401, 400]);
    for (const answer of answers) {
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('etag')).toBeNull();
    }
  });
});

describe('production mode', () => {
  const INTROSPECTION = '{ __schema { queryType { name } } }';

  it('turns introspection off when NODE_ENV is production', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    let p: Platform | undefined;
    try {
      p = await Platform.start();
    } finally {
      process.env.NODE_ENV = previous;
    }
    try {
      const response = await p.gql(INTROSPECTION, {}, 'AUDITOR');
      expect(response.status).toBe(400);
      expect(codeOf(response)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(response.body.errors?.[0].message).toMatch(/introspection is not allowed/i);
      expectNoInternals(response);
    } finally {
      await p.close();
    }
  });

  it('keeps introspection on otherwise', async () => {
    const p = await Platform.start({ production: false });
    try {
      expect((await p.gql(INTROSPECTION, {}, 'AUDITOR')).body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    } finally {
      await p.close();
    }
  });

  /** What a browser opening the GraphQL address gets. */
  const openInBrowser = (p: Platform) => fetch(p.url, { headers: { Accept: 'text/html' } });

  it('serves the GraphQL page to a browser outside production, sending no cookies, telemetry or schema polls', async () => {
    const p = await Platform.start({ production: false });
    try {
      const page = await openInBrowser(p);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      const html = await page.text();
      for (const setting of ['"includeCookies":false', '"runTelemetry":false', '"pollForSchemaUpdates":false']) expect(html).toContain(setting);
    } finally {
      await p.close();
    }
  });

  it('lets only the page through without a token outside production: an operation over GET is refused', async () => {
    const p = await Platform.start({ production: false });
    try {
      const before = await p.head();
      const query = `${p.url}?query=${encodeURIComponent('{ pools { sourceId } }')}`;
      const page = await fetch(query, { headers: { Accept: 'text/html' } });
      expect(page.headers.get('content-type')).toMatch(/text\/html/);
      expect(await p.head()).toBe(before);
      const answer = await fetch(query, { headers: { 'apollo-require-preflight': 'true' } });
      expect(answer.status).toBe(401);
      expect(await answer.json()).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'UNAUTHENTICATED' } }] });
    } finally {
      await p.close();
    }
  });

  it('serves no page in production', async () => {
    const p = await Platform.start({ production: true });
    try {
      const page = await openInBrowser(p);
      expect(page.headers.get('content-type')).not.toMatch(/text\/html/);
      expect(page.status).toBe(401);
    } finally {
      await p.close();
    }
  });
});

describe('the default cost limit', () => {
  let p: Platform;
  beforeAll(async () => {
    p = await Platform.start();
  });
  afterAll(() => p.close());

  const schema = buildASTSchema(concatAST(typeDefs.map((t) => (typeof t === 'string' ? parse(t) : t))));
  /** Every field of `type`, objects followed `levels` deep. */
  const everything = (type: GraphQLNamedType, levels: number): string => {
    if (!isObjectType(type)) return '';
    const fields = Object.entries(type.getFields()).flatMap(([name, field]) => {
      const inner = getNamedType(field.type);
      if (!isObjectType(inner)) return [name];
      return levels > 1 ? [`${name} ${everything(inner, levels - 1)}`] : [];
    });
    return `{ ${fields.join(' ')} }`;
  };
  const lists = Object.entries(schema.getQueryType()!.getFields())
    .filter(([, field]) => field.args.some((arg) => arg.name === 'first'))
    .map(([name, field]) => [name, `${name}(first: ${MAX_PAGE_SIZE}, consistentWith: 0) ${everything(getNamedType(field.type), 4)}`]);

  it.each(lists)('lets a console ask for a full page of %s with every field', async (name, page) => {
    const response = await p.gql(`{ ${page} }`, {}, name === 'audit' ? 'AUDITOR' : 'SECURITY_ADMIN');
    expect({ status: response.status, errors: response.body.errors }).toEqual({ status: 200, errors: undefined });
  });

  it('says how far over the limit a huge literal page goes, in numbers that read right', async () => {
    const response = await p.gql('{ devices(first: 100000000000000000000000) { total } }', {}, 'SECURITY_ADMIN');
    const messages = response.body.errors?.map((e) => e.message) ?? [];
    expect(messages).toContainEqual(expect.stringMatching(/^the operation has an estimated cost of \d(\.\d+)?e\+\d+, over the limit of 26000/));
  });

  it('refuses two full pages in one operation, saying what to do', async () => {
    const [, page] = lists.find(([name]) => name === 'devices')!;
    const response = await p.gql(`{ a: ${page} b: ${page} }`, {}, 'SECURITY_ADMIN');
    expect(response.status).toBe(400);
    expect(response.body.errors?.[0].message).toMatch(
      /^the operation has an estimated cost of \d+, over the limit of 26000; a page size \(first\) multiplies the cost/,
    );
  });
});

describe('what one operation may ask, whatever armor can see', () => {
  let p: Platform;
  let verifications = 0;
  beforeAll(async () => {
    p = await Platform.start({
      auditVerify: async () => {
        verifications++;
        return { ok: true, checked: 0, firstBadPosition: null, reason: null, head: null, since: null };
      },
    });
  });
  afterAll(() => p.close());

  it('refuses pages sized in variables past two full pages in all, naming first', async () => {
    const page = (alias: string) => `${alias}: devices(first: $n, consistentWith: 0) { total }`;
    const response = await p.gql(`query($n: Int) { ${page('a')} ${page('b')} ${page('c')} }`, { n: MAX_PAGE_SIZE }, 'SECURITY_ADMIN');
    expect(response.body.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^first: the lists of one operation may hold at most 1000 items together .*; this operation asks for 1500$/),
        extensions: expect.objectContaining({ code: 'INVALID_INPUT' }),
      }),
    ]);
    // Pages are non-null, so the operation answers no data at all.
    expect(response.body.data).toBeNull();
    const two = await p.gql(`query($n: Int) { ${page('a')} ${page('b')} }`, { n: MAX_PAGE_SIZE }, 'SECURITY_ADMIN');
    expect(two.body.errors).toBeUndefined();
  });

  it('counts the audit statistics once per operation: the same asking shares an answer, another is refused', async () => {
    const same = await p.gql('{ a: auditStats { total } b: auditStats { total } }', {}, 'AUDITOR');
    expect(same.body.errors).toBeUndefined();
    expect(same.body.data?.a).toEqual(same.body.data?.b);
    const other = await p.gql('{ a: auditStats { total } b: auditStats(top: 3) { total } }', {}, 'AUDITOR');
    expect(other.body.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/^auditStats: may be asked once per operation .*; send several requests to ask it several ways$/),
        extensions: expect.objectContaining({ code: 'INVALID_INPUT' }),
      }),
    ]);
  });

  it('verifies the audit chain once however many aliases ask', async () => {
    const before = verifications;
    const response = await p.gql('{ a: auditVerify { ok } b: auditVerify { ok } c: auditVerify { ok } }', {}, 'AUDITOR');
    expect(response.body).toEqual({ data: { a: { ok: true }, b: { ok: true }, c: { ok: true } } });
    expect(verifications - before).toBe(1);
  });
});
