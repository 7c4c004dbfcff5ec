import * as E from 'fp-ts/Either';
import * as t from 'io-ts';
import https from 'node:https';
import { keysFromWire, methodPath, statusFromWire, WireError, WireKeyContainer, WireStatus } from '../../api/etsi/wire';
import { KeyDeliveryStatus } from '../../application/keydelivery/key-delivery';
import { toIssues } from '../../domain/shared/codec';

// Pulls raw key from a KME that speaks ETSI GS QKD 014, as the master SAE of one link, over
// mutual TLS with the certificate that KME's CA issued to this platform.

export interface Etsi014KeySourceOptions {
  /** The KME's base address, https://host:port. */
  readonly url: string;
  /** The SAE at the far end of the link: keys are asked for with it as slave. */
  readonly slaveSaeId: string;
  /** This SAE's client certificate and private key, and the CA that issued the KME's certificate (PEM). */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  readonly ca: string | Buffer;
  /** How long one request may take, connection included. */
  readonly timeoutMs?: number;
}

export interface PulledKey {
  /** The KME's key_ID. */
  readonly blockId: string;
  readonly key: Buffer;
}

export class Etsi014Error extends Error {
  /** The KME's HTTP status, when it answered. */
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'Etsi014Error';
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** A key container of a few thousand keys is far smaller; a larger answer is not a KME's. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
/** A KME's own message is quoted, cut to this length. */
const MAX_QUOTED = 300;

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNRESET',
  'EPIPE',
]);
const SERVER_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const quoted = (text: string): string => (text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text);

const decodeAnswer = <A>(codec: t.Decoder<unknown, A>, answer: unknown, what: string, url: string): A => {
  const decoded = codec.decode(answer);
  if (E.isRight(decoded)) return decoded.right;
  const issues = toIssues(decoded.left).map((issue) => `${issue.field}: ${issue.rule}`);
  throw new Etsi014Error(
    `the KME at ${url} answered a ${what} that does not follow ETSI GS QKD 014 (${quoted(issues.join('; '))})`,
  );
};

/** Whole-byte key sizes the KME serves: at most its max_key_size and at least its min_key_size. */
const keySizes = (status: KeyDeliveryStatus, url: string): { largest: number; smallest: number } => {
  const largest = Math.floor(status.maxKeySize / 8) * 8;
  const smallest = Math.ceil(status.minKeySize / 8) * 8;
  if (largest === 0 || smallest > largest) {
    throw new Etsi014Error(
      `the KME at ${url} serves keys of ${status.minKeySize} to ${status.maxKeySize} bits, which holds no whole number of bytes; ask its operator to allow whole-byte sizes`,
    );
  }
  return { largest, smallest };
};

interface Batch {
  readonly number: number;
  /** Bits. */
  readonly size: number;
}

/**
 * Requests for `bytes` of key: keys of the largest size, at most max_key_per_request per request,
 * then one key for the rest, grown to min_key_size if the rest is smaller.
 */
const batchesFor = (bytes: number, status: KeyDeliveryStatus, url: string): Batch[] => {
  const { largest, smallest } = keySizes(status, url);
  const bits = bytes * 8;
  const batches: Batch[] = [];
  for (let full = Math.floor(bits / largest); full > 0; full -= status.maxKeyPerRequest) {
    batches.push({ number: Math.min(full, status.maxKeyPerRequest), size: largest });
  }
  const rest = bits % largest;
  if (rest > 0) batches.push({ number: 1, size: Math.max(rest, smallest) });
  return batches;
};

export class Etsi014KeySource {
  private readonly url: string;
  private readonly tls: Pick<https.RequestOptions, 'cert' | 'key' | 'ca'>;
  private readonly timeoutMs: number;

  constructor(private readonly options: Etsi014KeySourceOptions) {
    this.url = options.url.replace(/\/$/, '');
    this.tls = { cert: options.cert, key: options.key, ca: options.ca };
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** The link's status; a status that lacks any of the standard's 11 fields is refused. */
  async status(): Promise<KeyDeliveryStatus> {
    const answer = await this.request('GET', methodPath(this.options.slaveSaeId, 'status'));
    const status = statusFromWire(decodeAnswer(WireStatus, answer, 'status', this.url));
    if (status.slaveSaeId !== this.options.slaveSaeId) {
      throw new Etsi014Error(
        `the KME at ${this.url} answered the status of slave SAE ${quoted(status.slaveSaeId)} when asked for ${this.options.slaveSaeId}`,
      );
    }
    return status;
  }

  /**
   * At least `bytes` of new key (exactly, unless min_key_size makes the last key larger), each key
   * a block named by its key_ID. Requests respect the KME's max_key_per_request and max_key_size.
   */
  async pull(bytes: number): Promise<PulledKey[]> {
    if (!Number.isSafeInteger(bytes) || bytes <= 0)
      throw new RangeError(`bytes must be a whole number greater than 0, not ${bytes}`);
    const batches = batchesFor(bytes, await this.status(), this.url);
    const pulled: PulledKey[] = [];
    for (const batch of batches) {
      const answer = await this.request('POST', methodPath(this.options.slaveSaeId, 'enc_keys'), batch);
      const keys = keysFromWire(decodeAnswer(WireKeyContainer, answer, 'key container', this.url));
      const blocks = keys.map(({ keyId, key }) => ({ blockId: keyId, key }));
      if (blocks.length !== batch.number || blocks.some((block) => block.key.length * 8 !== batch.size)) {
        throw new Etsi014Error(
          `the KME at ${this.url} answered ${blocks.length} keys of ${blocks.map((block) => block.key.length * 8).join(', ')} bits ` +
            `when asked for ${batch.number} of ${batch.size} bits; the key was not used`,
        );
      }
      pulled.push(...blocks);
    }
    return pulled;
  }

  private request(method: 'GET' | 'POST', path: string, body?: object): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      // A KME that refuses a client certificate after a TLS 1.3 handshake just closes the connection.
      let secured = false;
      const request = https.request(
        `${this.url}${path}`,
        {
          method,
          ...this.tls,
          minVersion: 'TLSv1.2',
          // One connection per request: nothing is left open between pulls.
          agent: false,
          timeout: this.timeoutMs,
          headers: {
            accept: 'application/json',
            ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_ANSWER_BYTES) {
              request.destroy(
                new Etsi014Error(
                  `the KME at ${this.url} answered more than ${MAX_ANSWER_BYTES} bytes; this is not a key container`,
                ),
              );
            } else chunks.push(chunk);
          });
          response.on('end', () => {
            const status = response.statusCode ?? 0;
            let answer: unknown;
            try {
              answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              reject(new Etsi014Error(`the KME at ${this.url} answered HTTP ${status} with a body that is not JSON`, status));
              return;
            }
            if (status === 200) resolve(answer);
            else reject(this.refusal(status, WireError.is(answer) ? answer.message : 'no message'));
          });
          response.on('error', (error) => reject(this.failure(error, false)));
        },
      );
      request.on('timeout', () => request.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      request.on('socket', (socket) => socket.once('secureConnect', () => (secured = true)));
      request.on('error', (error) => reject(this.failure(error, secured)));
      request.end(payload);
    });
  }

  private refusal(status: number, message: string): Etsi014Error {
    const said = `HTTP ${status}: ${quoted(message)}`;
    switch (status) {
      case 401:
        return new Etsi014Error(
          `the KME at ${this.url} refused this SAE (${said}); check that the client certificate (QKMP_KME_CERT) is the one ` +
            `its operator issued for this SAE and that the KME links it to slave SAE ${this.options.slaveSaeId}`,
          status,
        );
      case 503:
        return new Etsi014Error(`the KME at ${this.url} cannot serve key now (${said}); retry later`, status);
      case 400:
        return new Etsi014Error(`the KME at ${this.url} refused the request (${said})`, status);
      default:
        return new Etsi014Error(
          `the KME at ${this.url} answered ${said}; check that QKMP_KEY_SOURCE is an ETSI GS QKD 014 KME`,
          status,
        );
    }
  }

  private failure(error: Error, afterHandshake: boolean): Etsi014Error {
    if (error instanceof Etsi014Error) return error;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const refusedCertificate =
      (code.startsWith('ERR_SSL_') && code.includes('ALERT')) || (afterHandshake && (code === 'ECONNRESET' || code === 'EPIPE'));
    if (SERVER_CERTIFICATE.has(code)) {
      return new Etsi014Error(
        `the KME at ${this.url} presented a certificate this SAE does not trust (${code}); check that QKMP_KME_CA holds ` +
          "the CA that issued the KME's certificate and that the certificate names the host in QKMP_KEY_SOURCE",
      );
    }
    if (refusedCertificate) {
      return new Etsi014Error(
        `the KME at ${this.url} refused this SAE's certificate or closed the connection after the TLS handshake (${code}); check that QKMP_KME_CERT ` +
          "and QKMP_KME_KEY are the pair the KME's operator issued for this SAE and that the certificate has not expired",
      );
    }
    if (UNREACHABLE.has(code)) {
      return new Etsi014Error(
        `the KME at ${this.url} did not answer (${code}); check that QKMP_KEY_SOURCE names a running KME reachable from this host`,
      );
    }
    return new Etsi014Error(`the request to the KME at ${this.url} failed (${code || error.message})`);
  }
}
