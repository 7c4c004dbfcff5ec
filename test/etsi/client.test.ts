import https from 'node:https';
import { AddressInfo } from 'node:net';
import { createKeyDeliveryServer, KeyDeliveryServer } from '../../api/etsi/server';
import { IssuedCertificate } from '../../infrastructure/pki/authority';
import { Etsi014KeySource } from '../../infrastructure/key-sources/etsi014-client';
import { FakeDelivery } from './support/fake-delivery';
import { call, expired, temporaryAuthority } from './support/tls';

// The client that pulls key from a KME, against this platform's own ETSI server over real mutual
// TLS, and against a hand-written KME that answers what a faulty one would.

describe('the ETSI GS QKD 014 client key source', () => {
  let pki: Awaited<ReturnType<typeof temporaryAuthority>>;
  let foreign: Awaited<ReturnType<typeof temporaryAuthority>>;
  let delivery: FakeDelivery;
  let server: KeyDeliveryServer;
  let base: string;
  let master: IssuedCertificate;

  const source = (options: { client?: IssuedCertificate; ca?: string; url?: string } = {}) => {
    const client = options.client ?? master;
    return new Etsi014KeySource({
      url: options.url ?? base,
      slaveSaeId: 'gw-slave',
      cert: client.certificate,
      key: client.privateKey,
      ca: options.ca ?? pki.authority.certificate,
    });
  };

  beforeAll(async () => {
    [pki, foreign] = await Promise.all([temporaryAuthority(), temporaryAuthority()]);
    master = await pki.authority.issueSaeCertificate('gw-master');
    delivery = new FakeDelivery({ keySize: 256, maxKeyPerRequest: 4, maxKeySize: 256, minKeySize: 64 });
    server = createKeyDeliveryServer({ delivery, authority: pki.authority, kmeId: 'KME-A', log: () => undefined });
    base = await server.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await server.close();
    pki.dispose();
    foreign.dispose();
  });
  beforeEach(() => {
    delivery.calls.length = 0;
    delivery.failWith = undefined;
  });

  it("reads the link's status in the platform's words", async () => {
    expect(await source().status()).toEqual({
      sourceKmeId: 'KME-A',
      targetKmeId: 'KME-A',
      masterSaeId: 'gw-master',
      slaveSaeId: 'gw-slave',
      keySize: 256,
      storedKeyCount: 25_000,
      maxKeyCount: 100_000,
      maxKeyPerRequest: 4,
      maxKeySize: 256,
      minKeySize: 64,
      maxSaeIdCount: 0,
    });
  });

  it('pulls exactly the bytes asked for in requests within max_key_per_request and max_key_size, each key a block named by its key_ID', async () => {
    const pulled = await source().pull(200);
    expect(delivery.calls.map((c) => [c.operation, c.caller, c.pathSaeId, c.input])).toEqual([
      ['STATUS', 'gw-master', 'gw-slave', undefined],
      ['ENC_KEYS', 'gw-master', 'gw-slave', { number: 4, size: 256 }],
      ['ENC_KEYS', 'gw-master', 'gw-slave', { number: 2, size: 256 }],
      ['ENC_KEYS', 'gw-master', 'gw-slave', { number: 1, size: 64 }],
    ]);
    expect(pulled.map((block) => block.key.length)).toEqual([32, 32, 32, 32, 32, 32, 8]);
    expect(new Set(pulled.map((block) => block.blockId)).size).toBe(7);
    // The slave gets the same key for the same ids: the blocks are the KME's keys, unchanged.
    const slave = await pki.authority.issueSaeCertificate('gw-slave');
    const dec = await call(`${base}/api/v1/keys/gw-master/dec_keys`, {
      client: slave,
      ca: pki.authority.certificate,
      body: { key_IDs: pulled.map((block) => ({ key_ID: block.blockId })) },
    });
    expect(
      dec.body.keys.map((entry: { key_ID: string; key: string }) => [entry.key_ID, Buffer.from(entry.key, 'base64')]),
    ).toEqual(pulled.map((block) => [block.blockId, block.key]));
  });

  it('asks for min_key_size when less is wanted, and refuses a byte count that is not a whole number above 0', async () => {
    const pulled = await source().pull(3);
    expect(pulled.map((block) => block.key.length)).toEqual([8]);
    await expect(source().pull(0)).rejects.toThrow('bytes must be a whole number greater than 0, not 0');
  });

  it('says the SAE was refused on 401 and to retry later on 503, quoting the KME', async () => {
    delivery.failWith = { kind: 'UNAUTHORIZED', message: 'SAE gw-master is not linked to gw-slave' };
    await expect(source().status()).rejects.toMatchObject({
      status: 401,
      message: expect.stringMatching(
        /refused this SAE \(HTTP 401: SAE gw-master is not linked to gw-slave\); check that the client certificate/,
      ),
    });
    delivery.failWith = { kind: 'UNAVAILABLE', message: 'no key left' };
    await expect(source().pull(32)).rejects.toMatchObject({
      status: 503,
      message: expect.stringMatching(/cannot serve key now \(HTTP 503: no key left\); retry later/),
    });
  });

  it('says the KME did not answer when nothing listens at its address', async () => {
    const closed = https.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    await expect(source({ url: `https://127.0.0.1:${port}` }).status()).rejects.toThrow(
      /did not answer \(ECONNREFUSED\); check that QKMP_KEY_SOURCE names a running KME/,
    );
  });

  it("says the KME's certificate is not trusted when it is not from the given CA", async () => {
    await expect(source({ ca: foreign.authority.certificate }).status()).rejects.toThrow(
      /presented a certificate this SAE does not trust \(SELF_SIGNED_CERT_IN_CHAIN\); check that QKMP_KME_CA/,
    );
  });

  it("says the KME refused this SAE's certificate when it has expired or comes from another CA", async () => {
    for (const client of [
      await pki.authority.issueSaeCertificate('gw-master', expired()),
      await foreign.authority.issueSaeCertificate('gw-master'),
    ]) {
      await expect(source({ client }).status()).rejects.toThrow(
        /refused this SAE's certificate .*\(ECONNRESET\); check that QKMP_KME_CERT and QKMP_KME_KEY/,
      );
    }
    expect(delivery.calls).toEqual([]);
  });

  describe('against a faulty KME', () => {
    let answer: (path: string) => { status: number; body: string };
    let faulty: https.Server;
    let faultyUrl: string;

    beforeAll(async () => {
      const issued = await pki.authority.issueServerCertificate('KME-B', '127.0.0.1');
      faulty = https.createServer(
        {
          key: issued.privateKey,
          cert: issued.certificate,
          ca: [pki.authority.certificate],
          requestCert: true,
          rejectUnauthorized: true,
        },
        (req, res) => {
          req.resume();
          const { status, body } = answer(req.url ?? '');
          res.writeHead(status, { 'content-type': 'application/json' }).end(body);
        },
      );
      await new Promise<void>((resolve) => faulty.listen(0, '127.0.0.1', resolve));
      faultyUrl = `https://127.0.0.1:${(faulty.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((resolve) => faulty.close(resolve)));

    const wireStatus = {
      source_KME_ID: 'KME-B',
      target_KME_ID: 'KME-C',
      master_SAE_ID: 'gw-master',
      slave_SAE_ID: 'gw-slave',
      key_size: 256,
      stored_key_count: 10,
      max_key_count: 100,
      max_key_per_request: 10,
      max_key_size: 256,
      min_key_size: 256,
      max_SAE_ID_count: 0,
    };

    it('refuses a status that lacks any of the 11 fields', async () => {
      const { max_SAE_ID_count: _dropped, ...lacking } = wireStatus;
      answer = () => ({ status: 200, body: JSON.stringify(lacking) });
      await expect(source({ url: faultyUrl }).status()).rejects.toThrow(
        /answered a status that does not follow ETSI GS QKD 014 \(max_SAE_ID_count: is required \(a whole number of 0 or more\)\)/,
      );
    });

    it('refuses the status of another link', async () => {
      answer = () => ({ status: 200, body: JSON.stringify({ ...wireStatus, slave_SAE_ID: 'gw-elsewhere' }) });
      await expect(source({ url: faultyUrl }).status()).rejects.toThrow(
        /answered the status of slave SAE gw-elsewhere when asked for gw-slave/,
      );
    });

    it('refuses keys of another size or number than asked for, and answers that are not JSON', async () => {
      const keys = (sizes: number[]) =>
        JSON.stringify({
          keys: sizes.map((size, i) => ({
            key_ID: `00000000-0000-4000-8000-00000000000${i}`,
            key: Buffer.alloc(size).toString('base64'),
          })),
        });
      answer = (path) => ({ status: 200, body: path.endsWith('/status') ? JSON.stringify(wireStatus) : keys([32, 16]) });
      await expect(source({ url: faultyUrl }).pull(64)).rejects.toThrow(
        /answered 2 keys of 256, 128 bits when asked for 2 of 256 bits; the key was not used/,
      );
      answer = (path) => ({ status: 200, body: path.endsWith('/status') ? JSON.stringify(wireStatus) : keys([32]) });
      await expect(source({ url: faultyUrl }).pull(64)).rejects.toThrow(
        /answered 1 keys of 256 bits when asked for 2 of 256 bits/,
      );
      answer = () => ({ status: 502, body: '<html>bad gateway</html>' });
      await expect(source({ url: faultyUrl }).status()).rejects.toMatchObject({
        status: 502,
        message: expect.stringMatching(/answered HTTP 502 with a body that is not JSON/),
      });
    });

    it('refuses key sizes that hold no whole number of bytes', async () => {
      answer = () => ({ status: 200, body: JSON.stringify({ ...wireStatus, min_key_size: 4, max_key_size: 7 }) });
      await expect(source({ url: faultyUrl }).pull(8)).rejects.toThrow(
        /serves keys of 4 to 7 bits, which holds no whole number of bytes/,
      );
    });
  });
});
