import express, { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import * as E from 'fp-ts/Either';
import { pipe } from 'fp-ts/function';
import https from 'node:https';
import { AddressInfo, Socket } from 'node:net';
import {
  KeyDelivery,
  KeyDeliveryError,
  KeyDeliveryOperation,
  KeyRequest,
  STATUS_OF,
} from '../../application/keydelivery/key-delivery';
import { CertificateAuthority } from '../../infrastructure/pki/authority';
import { expressMessages } from '../express-messages';
import { defaultLimits, Limits } from '../limits';
import { describeError, Log, stderrLog } from '../log';
import { authenticateSae, callerOf } from './identity';
import { badRequest, keyIdsOfBody, keyIdsOfQuery, keyRequestOfBody, keyRequestOfQuery, saeIdOfPath } from './requests';
import { API_PREFIX, keysToWire, statusToWire } from './wire';

// The ETSI GS QKD 014 key delivery interface: HTTPS with mutual TLS on its own port, the
// platform's CA as the only issuer it trusts, JSON in and out, and no answer but 200, 400, 401,
// 429 and 503 (404 for a path the standard does not define).

/** How long a close lets requests under way finish before it ends their connections. */
const CLOSE_GRACE_MS = 2000;

export type KeyDeliveryLimits = Pick<Limits, 'maxBodyBytes' | 'rateLimit'>;

export interface KeyDeliveryServerOptions {
  readonly delivery: KeyDelivery;
  readonly authority: CertificateAuthority;
  /** The KME id: the subject of the server certificate, which SAEs check. */
  readonly kmeId: string;
  readonly log?: Log;
  readonly limits?: Partial<KeyDeliveryLimits>;
}

export interface KeyDeliveryServer {
  /** Issues a server certificate for `host` and starts listening; resolves to the base URL, https://host:port. */
  listen(port: number, host: string): Promise<string>;
  /** Lets requests in flight finish and stops listening. */
  close(): Promise<void>;
}


const sendError = (res: Response, error: KeyDeliveryError): void => {
  res.status(STATUS_OF[error.kind]).json({ message: error.message, ...(error.details && { details: error.details }) });
};

type PathField = 'slave_SAE_ID' | 'master_SAE_ID';

const METHODS: Readonly<Record<string, { operation: KeyDeliveryOperation; field: PathField }>> = {
  status: { operation: 'STATUS', field: 'slave_SAE_ID' },
  enc_keys: { operation: 'ENC_KEYS', field: 'slave_SAE_ID' },
  dec_keys: { operation: 'DEC_KEYS', field: 'master_SAE_ID' },
};

const METHOD_PATH = new RegExp(`^${API_PREFIX}/([^/]+)/(status|enc_keys|dec_keys)$`);

/** The method a path names, for refusals raised before routing (a body or path that failed to decode). */
const methodOf = (req: Request): { operation: KeyDeliveryOperation; field: PathField; saeId: string } | undefined => {
  const match = METHOD_PATH.exec(req.path);
  if (!match) return undefined;
  let saeId = match[1];
  try {
    saeId = decodeURIComponent(saeId);
  } catch {
    // Kept as sent: the refusal still names what the caller asked for.
  }
  return { ...METHODS[match[2]], saeId };
};

/** Body and path errors of the parsers and the router, in the words of the field and the rule. */
const inputError = (
  error: { type?: unknown; status?: unknown },
  field: PathField,
  maxBodyBytes: number,
): KeyDeliveryError | undefined => {
  switch (error.type) {
    case 'entity.too.large':
      return badRequest(`request body: must be at most ${maxBodyBytes} bytes; ask for fewer keys in each request`);
    case 'entity.parse.failed':
      return badRequest('request body: must be valid JSON (a JSON object sent with Content-Type: application/json)');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return badRequest('request body: must be JSON in UTF-8');
  }
  // The router's own 400: a path parameter that is not valid percent-encoding.
  return error.status === 400 ? badRequest(`${field}: must be percent-encoded UTF-8`) : undefined;
};

const MISSING_BODY = badRequest('request body: is required (a JSON object sent with Content-Type: application/json)');

const UNEXPECTED = 'the KME could not serve the request: the details are logged; retry later';

export const createKeyDeliveryServer = (options: KeyDeliveryServerOptions): KeyDeliveryServer => {
  const { delivery, authority, kmeId } = options;
  const log = options.log ?? stderrLog;
  const limits: KeyDeliveryLimits = {
    maxBodyBytes: options.limits?.maxBodyBytes ?? defaultLimits.maxBodyBytes,
    rateLimit: options.limits?.rateLimit ?? defaultLimits.rateLimit,
  };

  /** Every refusal of the HTTP layer goes through the service, so the audit has it. */
  const refuse = async (
    res: Response,
    pathSaeId: string,
    operation: KeyDeliveryOperation,
    error: KeyDeliveryError,
  ): Promise<void> => {
    let recorded = error;
    try {
      recorded = await delivery.refuse(callerOf(res), pathSaeId, operation, error);
    } catch (failure) {
      log('etsi.refusal_not_recorded', { operation, error: describeError(failure) });
    }
    sendError(res, recorded);
  };

  /**
   * One ETSI method: decode the path's SAE id and the input (refusing through the service what
   * fails), ask the service, and present its answer.
   */
  const method =
    <I, A>(
      name: keyof typeof METHODS,
      input: (req: Request) => E.Either<KeyDeliveryError, I>,
      serve: (caller: string, pathSaeId: string, input: I) => Promise<E.Either<KeyDeliveryError, A>>,
      present: (answer: A) => unknown,
    ): RequestHandler =>
    async (req, res) => {
      const { operation, field } = METHODS[name];
      const pathSaeId = req.params.sae as string;
      const decoded = pipe(
        saeIdOfPath(pathSaeId, field),
        E.chain((saeId) => E.map((value: I) => ({ saeId, value }))(input(req))),
      );
      if (E.isLeft(decoded)) return refuse(res, pathSaeId, operation, decoded.left);
      const answer = await serve(callerOf(res), decoded.right.saeId, decoded.right.value);
      if (E.isLeft(answer)) sendError(res, answer.left);
      else res.status(200).json(present(answer.right));
    };

  const body =
    <I>(decode: (body: unknown) => E.Either<KeyDeliveryError, I>) =>
    (req: Request): E.Either<KeyDeliveryError, I> =>
      req.body === undefined ? E.left(MISSING_BODY) : decode(req.body);
  const query =
    <I>(decode: (query: Record<string, unknown>) => E.Either<KeyDeliveryError, I>) =>
    (req: Request): E.Either<KeyDeliveryError, I> =>
      decode(req.query);
  const none = (): E.Either<KeyDeliveryError, undefined> => E.right(undefined);

  const app = express();
  const messages = expressMessages(app);
  app.disable('x-powered-by');
  app.disable('etag');
  app.use((_req, res, next) => {
    // Answers carry key material: no cache may keep them.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use(authenticateSae(log));
  app.use(
    rateLimit({
      windowMs: limits.rateLimit.windowMs,
      limit: limits.rateLimit.limit,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: (_req, res) => callerOf(res),
      handler: (_req, res: Response) => {
        res.status(429).json({
          message:
            `too many requests: at most ${limits.rateLimit.limit} every ${limits.rateLimit.windowMs / 1000} s per SAE; ` +
            'wait for the time the RateLimit header gives, then retry',
        });
      },
    }),
  );
  app.use(express.json({ limit: limits.maxBodyBytes }));

  const statusOf = method('status', none, (caller, slave) => delivery.status(caller, slave), statusToWire);
  const encKeys = (input: (req: Request) => E.Either<KeyDeliveryError, KeyRequest>) =>
    method('enc_keys', input, (caller, slave, request) => delivery.encKeys(caller, slave, request), keysToWire);
  const decKeys = (input: (req: Request) => E.Either<KeyDeliveryError, string[]>) =>
    method('dec_keys', input, (caller, master, keyIds) => delivery.decKeys(caller, master, keyIds), keysToWire);

  app.get(`${API_PREFIX}/:sae/status`, statusOf);
  app.post(`${API_PREFIX}/:sae/enc_keys`, encKeys(body(keyRequestOfBody)));
  app.get(`${API_PREFIX}/:sae/enc_keys`, encKeys(query(keyRequestOfQuery)));
  app.post(`${API_PREFIX}/:sae/dec_keys`, decKeys(body(keyIdsOfBody)));
  app.get(`${API_PREFIX}/:sae/dec_keys`, decKeys(query(keyIdsOfQuery)));

  app.use((req, res) => {
    res.status(404).json({
      message:
        `no method ${req.method} ${req.path}: the KME serves GET ${API_PREFIX}/{slave_SAE_ID}/status, ` +
        `POST or GET ${API_PREFIX}/{slave_SAE_ID}/enc_keys and POST or GET ${API_PREFIX}/{master_SAE_ID}/dec_keys`,
    });
  });
  const errors: ErrorRequestHandler = async (error, req, res, next) => {
    if (res.headersSent) return next(error);
    const target = methodOf(req);
    const refusal = target && inputError(error as { type?: unknown; status?: unknown }, target.field, limits.maxBodyBytes);
    if (target && refusal) return refuse(res, target.saeId, target.operation, refusal);
    log('etsi.unexpected_error', { method: req.method, path: req.path, error: describeError(error) });
    res.status(503).json({ message: UNEXPECTED });
  };
  app.use(errors);

  let server: https.Server | undefined;
  const sockets = new Set<Socket>();
  return {
    listen: async (port, host) => {
      const issued = await authority.issueServerCertificate(kmeId, host);
      const listening = https.createServer(
        {
          key: issued.privateKey,
          cert: issued.certificate,
          ca: [authority.certificate],
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2',
          ...messages,
        },
        app,
      );
      // Why a handshake failed (an expired or foreign certificate, none at all) is for the operator:
      // the SAE only sees the connection close.
      listening.on('tlsClientError', (error: NodeJS.ErrnoException, socket) => {
        // Node destroys a session whose certificate failed verification and keeps the reason here.
        const reason = (socket.authorizationError as unknown as string | undefined) ?? error.code ?? error.message;
        log('etsi.handshake_refused', { reason });
      });
      await new Promise<void>((resolve, reject) => {
        listening.once('error', reject);
        listening.listen(port, host, () => {
          listening.off('error', reject);
          resolve();
        });
      });
      // Every socket, handshakes under way included, so a close can end those that will not end.
      listening.on('connection', (socket: Socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      server = listening;
      const { port: bound } = listening.address() as AddressInfo;
      return `https://${host.includes(':') ? `[${host}]` : host}:${bound}`;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (server === undefined) return resolve();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
        server = undefined;
        // Requests under way get a moment to finish; a connection that never even completed its
        // handshake would otherwise hold the close until TLS's own two-minute timeout.
        setTimeout(() => sockets.forEach((socket) => socket.destroy()), CLOSE_GRACE_MS).unref();
      }),
  };
};
