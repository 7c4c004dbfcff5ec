import { IssuedCertificate } from '../../infrastructure/pki/authority';
import { authenticateSae } from '../../api/etsi/identity';
import { createKeyDeliveryServer, KeyDeliveryServer } from '../../api/etsi/server';
import { FakeDelivery } from './support/fake-delivery';
import { STATUS_FIELDS } from './support/standard';
import { Answer, call, expired, temporaryAuthority } from './support/tls';

// The HTTP layer over real TLS with real certificates; the service behind it is an in-memory fake.

describe('the ETSI GS QKD 014 key delivery server', () => {
  let pki: Awaited<ReturnType<typeof temporaryAuthority>>;
  let foreign: Awaited<ReturnType<typeof temporaryAuthority>>;
  let delivery: FakeDelivery;
  let server: KeyDeliveryServer;
  let base: string;
  let master: IssuedCertificate;
  let slave: IssuedCertificate;
  const logged: string[] = [];

  beforeAll(async () => {
    [pki, foreign] = await Promise.all([temporaryAuthority(), temporaryAuthority()]);
    [master, slave] = await Promise.all([
      pki.authority.issueSaeCertificate('gw-master'),
      pki.authority.issueSaeCertificate('gw-slave'),
    ]);
    delivery = new FakeDelivery({ keySize: 256, maxKeyPerRequest: 128, maxKeySize: 1024, minKeySize: 64 });
    server = createKeyDeliveryServer({
      delivery,
      authority: pki.authority,
      kmeId: 'KME-A',
      log: (event, fields) => logged.push(JSON.stringify({ event, ...fields })),
      limits: { maxBodyBytes: 2048 },
    });
    base = await server.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await server.close();
    pki.dispose();
    foreign.dispose();
  });
  beforeEach(() => {
    delivery.calls.length = 0;
    delivery.refusals.length = 0;
    delivery.failWith = undefined;
    delivery.throwWith = undefined;
  });

  const as = (
    client: IssuedCertificate,
    path: string,
    options: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) => call(`${base}${path}`, { ...options, client, ca: pki.authority.certificate });

  const expectJson = (answer: Answer) => {
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.headers['cache-control']).toBe('no-store');
  };

  /** A refusal of the HTTP layer: a 400 naming the field and rule, recorded through the service, which was not asked. */
  const expectRefused = (answer: Answer, operation: string, message: RegExp | string) => {
    expect(answer.status).toBe(400);
    expectJson(answer);
    if (typeof message === 'string') expect(answer.body.message).toBe(message);
    else expect(answer.body.message).toMatch(message);
    expect(answer.text).not.toMatch(/\bat \S+ \(|\.ts:\d|\.js:\d|node_modules|Error:/);
    expect(delivery.refusals).toEqual([
      expect.objectContaining({
        caller: 'gw-master',
        operation,
        error: expect.objectContaining({ kind: 'BAD_REQUEST', message: answer.body.message }),
      }),
    ]);
    expect(delivery.calls).toEqual([]);
  };

  describe('Get status', () => {
    it("answers the 11 standard fields, spelled exactly as the standard spells them, for the certificate's SAE", async () => {
      const answer = await as(master, '/api/v1/keys/gw-slave/status');
      expect(answer.status).toBe(200);
      expectJson(answer);
      expect(Object.keys(answer.body).sort()).toEqual([...STATUS_FIELDS].sort());
      expect(answer.body).toEqual({
        source_KME_ID: 'KME-A',
        target_KME_ID: 'KME-A',
        master_SAE_ID: 'gw-master',
        slave_SAE_ID: 'gw-slave',
        key_size: 256,
        stored_key_count: 25_000,
        max_key_count: 100_000,
        max_key_per_request: 128,
        max_key_size: 1024,
        min_key_size: 64,
        max_SAE_ID_count: 0,
      });
      expect(delivery.calls).toEqual([{ operation: 'STATUS', caller: 'gw-master', pathSaeId: 'gw-slave' }]);
    });

    it('decodes a percent-encoded SAE id in the path', async () => {
      await as(master, '/api/v1/keys/gw%2Dslave/status');
      expect(delivery.calls).toEqual([{ operation: 'STATUS', caller: 'gw-master', pathSaeId: 'gw-slave' }]);
    });
  });

  describe('Get key and Get key with key IDs', () => {
    it('delivers keys by POST as a key container with key_ID and base64 key, which the slave then fetches by POST', async () => {
      const enc = await as(master, '/api/v1/keys/gw-slave/enc_keys', {
        body: { number: 2, size: 512, extension_optional: [{ abc_route: 'direct' }], vendor_field: true },
      });
      expect(enc.status).toBe(200);
      expectJson(enc);
      expect(Object.keys(enc.body)).toEqual(['keys']);
      expect(enc.body.keys).toHaveLength(2);
      for (const entry of enc.body.keys) {
        expect(Object.keys(entry)).toEqual(['key_ID', 'key']);
        expect(entry.key_ID).toMatch(/^[0-9a-f-]{36}$/);
        expect(Buffer.from(entry.key, 'base64')).toHaveLength(64);
      }
      expect(delivery.calls[0]).toEqual({
        operation: 'ENC_KEYS',
        caller: 'gw-master',
        pathSaeId: 'gw-slave',
        input: { number: 2, size: 512 },
      });

      const dec = await as(slave, '/api/v1/keys/gw-master/dec_keys', {
        // Unknown fields inside an entry are ignored, and a UUID's case does not matter.
        body: {
          key_IDs: [{ key_ID: enc.body.keys[0].key_ID.toUpperCase(), vendor_hint: 1 }, { key_ID: enc.body.keys[1].key_ID }],
        },
      });
      expect(dec.status).toBe(200);
      expect(dec.body).toEqual(enc.body);
      expect(delivery.calls[1]).toEqual({
        operation: 'DEC_KEYS',
        caller: 'gw-slave',
        pathSaeId: 'gw-master',
        input: enc.body.keys.map((entry: { key_ID: string }) => entry.key_ID),
      });
    });

    it('passes additional slave SAE ids on', async () => {
      await as(master, '/api/v1/keys/gw-slave/enc_keys', { body: { additional_slave_SAE_IDs: ['gw-3', 'gw-4'] } });
      expect(delivery.calls[0].input).toEqual({ additionalSlaveSaeIds: ['gw-3', 'gw-4'] });
    });

    it('serves GET with number and size, and GET with a single key_ID', async () => {
      const enc = await as(master, '/api/v1/keys/gw-slave/enc_keys?number=3&size=128');
      expect(enc.status).toBe(200);
      expect(enc.body.keys.map((entry: { key: string }) => Buffer.from(entry.key, 'base64').length)).toEqual([16, 16, 16]);
      expect(delivery.calls[0].input).toEqual({ number: 3, size: 128 });
      const keyId = enc.body.keys[2].key_ID;
      const dec = await as(slave, `/api/v1/keys/gw-master/dec_keys?key_ID=${keyId}`);
      expect(dec.status).toBe(200);
      expect(dec.body).toEqual({ keys: [enc.body.keys[2]] });
      // GET with neither parameter leaves the defaults to the service.
      await as(master, '/api/v1/keys/gw-slave/enc_keys');
      expect(delivery.calls[2].input).toEqual({});
    });
  });

  describe('bad input is answered 400 with the field and rule, and recorded through the service', () => {
    it('a size that is not a multiple of 8, in the standard words, by POST and by GET', async () => {
      expectRefused(
        await as(master, '/api/v1/keys/gw-slave/enc_keys', { body: { size: 100 } }),
        'ENC_KEYS',
        'size shall be a multiple of 8',
      );
      delivery.refusals.length = 0;
      expectRefused(await as(master, '/api/v1/keys/gw-slave/enc_keys?size=12'), 'ENC_KEYS', 'size shall be a multiple of 8');
    });

    it('a mandatory extension, which this KME does not support, in the standard words', async () => {
      const answer = await as(master, '/api/v1/keys/gw-slave/enc_keys', {
        body: { extension_mandatory: [{ abc_route_type: 'direct' }] },
      });
      expectRefused(answer, 'ENC_KEYS', 'not all extension_mandatory parameters are supported');
      expect(answer.body.details).toEqual([{ extension_mandatory: 'abc_route_type' }]);
    });

    it('fields of the wrong type', async () => {
      const answer = await as(master, '/api/v1/keys/gw-slave/enc_keys', {
        body: { number: 'two', size: 'abc', additional_slave_SAE_IDs: 'gw-3' },
      });
      expectRefused(
        answer,
        'ENC_KEYS',
        'number: must be a whole number greater than 0; size: must be a whole number greater than 0; additional_slave_SAE_IDs: must be a list of SAE ids',
      );
      expect(answer.body.details).toEqual([
        { number: 'must be a whole number greater than 0' },
        { size: 'must be a whole number greater than 0' },
        { additional_slave_SAE_IDs: 'must be a list of SAE ids' },
      ]);
    });

    it('a body that is not JSON, not an object, missing, or over the size limit', async () => {
      expectRefused(
        await as(master, '/api/v1/keys/gw-slave/enc_keys', { body: '{"number": ' }),
        'ENC_KEYS',
        /^request body: must be valid JSON/,
      );
      delivery.refusals.length = 0;
      expectRefused(
        await as(master, '/api/v1/keys/gw-slave/enc_keys', { body: '[1, 2]' }),
        'ENC_KEYS',
        '(root): must be a JSON object (a Key request)',
      );
      delivery.refusals.length = 0;
      expectRefused(
        await as(master, '/api/v1/keys/gw-master/dec_keys', { method: 'POST' }),
        'DEC_KEYS',
        /^request body: is required/,
      );
      delivery.refusals.length = 0;
      const large = { key_IDs: Array.from({ length: 60 }, () => ({ key_ID: '3fa85f64-5717-4562-b3fc-2c963f66afa6' })) };
      expectRefused(
        await as(master, '/api/v1/keys/gw-master/dec_keys', { body: large }),
        'DEC_KEYS',
        /^request body: must be at most 2048 bytes/,
      );
    });

    it('key IDs that are missing, empty or not UUIDs', async () => {
      expectRefused(await as(master, '/api/v1/keys/gw-master/dec_keys', { body: {} }), 'DEC_KEYS', /^key_IDs: is required/);
      delivery.refusals.length = 0;
      expectRefused(
        await as(master, '/api/v1/keys/gw-master/dec_keys', { body: { key_IDs: [] } }),
        'DEC_KEYS',
        'key_IDs: must be a list of 1 or more objects with a key_ID',
      );
      delivery.refusals.length = 0;
      expectRefused(
        await as(master, '/api/v1/keys/gw-master/dec_keys', { body: { key_IDs: [{ key_ID: 'k1' }] } }),
        'DEC_KEYS',
        /^key_IDs\.key_ID: must be a UUID/,
      );
    });

    it('query parameters GET does not take, repeated, or malformed', async () => {
      const extra = await as(master, '/api/v1/keys/gw-slave/enc_keys?number=1&additional_slave_SAE_IDs=gw-3');
      expectRefused(
        extra,
        'ENC_KEYS',
        'query parameter additional_slave_SAE_IDs is not accepted: GET enc_keys takes only number and size',
      );
      delivery.refusals.length = 0;
      expectRefused(
        await as(master, '/api/v1/keys/gw-slave/enc_keys?size=abc'),
        'ENC_KEYS',
        'size: must be a whole number greater than 0, given once',
      );
      delivery.refusals.length = 0;
      expectRefused(
        await as(master, '/api/v1/keys/gw-slave/enc_keys?number=1&number=2'),
        'ENC_KEYS',
        'number: must be a whole number greater than 0, given once',
      );
      delivery.refusals.length = 0;
      expectRefused(await as(master, '/api/v1/keys/gw-master/dec_keys'), 'DEC_KEYS', /^key_ID: is required/);
      delivery.refusals.length = 0;
      const id = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
      expectRefused(
        await as(master, `/api/v1/keys/gw-master/dec_keys?key_ID=${id}&key_ID=${id}`),
        'DEC_KEYS',
        /^key_ID: must be a UUID .*, given once$/,
      );
    });

    it('an SAE id in the path that is not an identifier or not valid percent-encoding', async () => {
      const answer = await as(master, '/api/v1/keys/gw%2Fslave/status');
      expectRefused(answer, 'STATUS', /^slave_SAE_ID: must be an identifier/);
      expect(delivery.refusals[0].pathSaeId).toBe('gw/slave');
      delivery.refusals.length = 0;
      expectRefused(
        await as(master, '/api/v1/keys/gw%E0%A4%A/dec_keys?key_ID=x'),
        'DEC_KEYS',
        'master_SAE_ID: must be percent-encoded UTF-8',
      );
    });
  });

  it('answers a path or method the standard does not define with a JSON 404', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/keys/gw-slave/other'],
      ['PUT', '/api/v1/keys/gw-slave/enc_keys'],
      ['GET', '/'],
    ]) {
      const answer = await as(master, path, { method });
      expect(answer.status).toBe(404);
      expectJson(answer);
      expect(answer.body.message).toMatch(/^no method .*the KME serves GET \/api\/v1\/keys\/\{slave_SAE_ID\}\/status/);
    }
    expect(delivery.calls).toEqual([]);
  });

  it("answers the service's refusals with 401 and 503, with a JSON body and the details", async () => {
    const enc = await as(master, '/api/v1/keys/gw-slave/enc_keys', { body: { number: 1 } });
    const keyId = enc.body.keys[0].key_ID;
    const other = await pki.authority.issueSaeCertificate('gw-other');
    const unauthorized = await as(other, '/api/v1/keys/gw-master/dec_keys', { body: { key_IDs: [{ key_ID: keyId }] } });
    expect(unauthorized.status).toBe(401);
    expectJson(unauthorized);
    expect(unauthorized.body).toEqual({ message: 'SAE gw-other was not named as a slave for these keys' });
    const notFound = await as(slave, '/api/v1/keys/gw-other/dec_keys', { body: { key_IDs: [{ key_ID: keyId }] } });
    expect(notFound.status).toBe(400);
    expect(notFound.body).toEqual({ message: 'one or more keys specified are not found on KME', details: [{ key_ID: keyId }] });

    delivery.failWith = { kind: 'UNAVAILABLE', message: 'the key pool for gw-slave is empty; retry when key has been ingested' };
    const unavailable = await as(master, '/api/v1/keys/gw-slave/status');
    expect(unavailable.status).toBe(503);
    expectJson(unavailable);
    expect(unavailable.body).toEqual({ message: 'the key pool for gw-slave is empty; retry when key has been ingested' });
    // The service's own refusals are its own to record.
    expect(delivery.refusals).toEqual([]);
  });

  it('answers a failure of the service with a masked 503 and logs it, without internals', async () => {
    delivery.throwWith = new Error('connection to the store lost at /var/lib/db');
    logged.length = 0;
    const answer = await as(master, '/api/v1/keys/gw-slave/enc_keys', { body: { number: 1 } });
    expect(answer.status).toBe(503);
    expectJson(answer);
    expect(answer.body).toEqual({ message: 'the KME could not serve the request: the details are logged; retry later' });
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0])).toMatchObject({
      event: 'etsi.unexpected_error',
      path: '/api/v1/keys/gw-slave/enc_keys',
      error: { message: 'connection to the store lost at /var/lib/db' },
    });
  });

  describe('mutual TLS', () => {
    const statusWith = (client: IssuedCertificate | undefined) =>
      call(`${base}/api/v1/keys/gw-slave/status`, { ...(client && { client }), ca: pki.authority.certificate });

    /** The client sees the connection fail; the operator's log says why; the service is never asked. */
    const expectHandshakeRefused = async (client: IssuedCertificate | undefined, reason: string) => {
      logged.length = 0;
      await expect(statusWith(client)).rejects.toThrow();
      const refused = JSON.stringify({ event: 'etsi.handshake_refused', reason });
      for (let tries = 0; tries < 100 && !logged.includes(refused); tries += 1)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(logged).toContain(refused);
      expect(delivery.calls).toEqual([]);
      expect(delivery.refusals).toEqual([]);
    };

    it('fails the handshake of an expired certificate', async () => {
      await expectHandshakeRefused(await pki.authority.issueSaeCertificate('gw-master', expired()), 'CERT_HAS_EXPIRED');
    });

    it('fails the handshake of a certificate from another CA, even for a known SAE id', async () => {
      await expectHandshakeRefused(await foreign.authority.issueSaeCertificate('gw-master'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    });

    it('refuses a client without a certificate', async () => {
      await expectHandshakeRefused(undefined, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    });

    it('refuses a certificate that is not for client authentication, such as a server certificate', async () => {
      await expectHandshakeRefused(await pki.authority.issueServerCertificate('gw-master', 'localhost'), 'INVALID_PURPOSE');
    });

    it("presents a server certificate for the KME id that the platform's CA issued, for localhost too", async () => {
      const answer = await call(`${base.replace('127.0.0.1', 'localhost')}/api/v1/keys/gw-slave/status`, {
        client: master,
        ca: pki.authority.certificate,
      });
      expect(answer.status).toBe(200);
      await expect(
        call(`${base}/api/v1/keys/gw-slave/status`, { client: master, ca: foreign.authority.certificate }),
      ).rejects.toThrow(/self-signed|issuer|verify/i);
    });
  });

  it('never writes key material into a log line', () => {
    expect(logged.join('\n')).not.toMatch(/"key"|[A-Za-z0-9+/]{40,}={0,2}/);
  });
});

describe('the per-SAE rate limit', () => {
  it('answers 429 with a JSON body once an SAE exceeds its limit, and serves other SAEs meanwhile', async () => {
    const pki = await temporaryAuthority();
    const delivery = new FakeDelivery({ keySize: 256, maxKeyPerRequest: 128, maxKeySize: 1024, minKeySize: 64 });
    const server = createKeyDeliveryServer({
      delivery,
      authority: pki.authority,
      kmeId: 'KME-A',
      limits: { rateLimit: { windowMs: 60_000, limit: 2 } },
    });
    try {
      const base = await server.listen(0, '127.0.0.1');
      const [busy, quiet] = await Promise.all([
        pki.authority.issueSaeCertificate('gw-busy'),
        pki.authority.issueSaeCertificate('gw-quiet'),
      ]);
      const status = (client: IssuedCertificate) =>
        call(`${base}/api/v1/keys/gw-slave/status`, { client, ca: pki.authority.certificate });
      expect((await status(busy)).status).toBe(200);
      expect((await status(busy)).status).toBe(200);
      const limited = await status(busy);
      expect(limited.status).toBe(429);
      expect(limited.headers['content-type']).toMatch(/^application\/json/);
      expect(limited.body.message).toMatch(/^too many requests: at most 2 every 60 s per SAE/);
      expect((await status(quiet)).status).toBe(200);
    } finally {
      await server.close();
      pki.dispose();
    }
  });
});

describe('the SAE identity check behind the handshake', () => {
  // The server refuses such sessions in the handshake already; this is the second lock, checked alone.
  const run = (socket: { authorized: boolean; subject?: Record<string, unknown> }) => {
    const logged: string[] = [];
    const answer: { status?: number; body?: unknown; next: boolean; locals: Record<string, unknown> } = {
      next: false,
      locals: {},
    };
    const req = {
      socket: {
        authorized: socket.authorized,
        remoteAddress: '127.0.0.1',
        getPeerCertificate: () => ({ subject: socket.subject }),
      },
    };
    const res = {
      locals: answer.locals,
      status(code: number) {
        answer.status = code;
        return this;
      },
      json(body: unknown) {
        answer.body = body;
      },
    };
    authenticateSae((event) => logged.push(event))(req as never, res as never, () => (answer.next = true));
    return { ...answer, logged };
  };

  it('lets a verified certificate through as its subject CN', () => {
    const verified = run({ authorized: true, subject: { CN: 'gw-1' } });
    expect(verified.next).toBe(true);
    expect(verified.locals.saeId).toBe('gw-1');
  });

  it('answers 401 with a JSON body for an unverified session, a CN that is no SAE id, or two CNs', () => {
    for (const socket of [
      { authorized: false, subject: { CN: 'gw-1' } },
      { authorized: true, subject: { CN: 'gw 1' } },
      { authorized: true, subject: { CN: ['gw-1', 'gw-2'] } },
      { authorized: true },
    ]) {
      const refused = run(socket);
      expect(refused.next).toBe(false);
      expect(refused.status).toBe(401);
      expect(refused.body).toEqual({ message: expect.stringMatching(/^a client certificate issued by this KME's CA/) });
      expect(refused.logged).toEqual(['etsi.unverified_client']);
    }
  });
});
