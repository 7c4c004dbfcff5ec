import * as E from 'fp-ts/Either';
import type { ExpressContextFunctionArgument } from '@as-integrations/express5';
import type { Request, RequestHandler, Response } from 'express';
import { GraphQLError } from 'graphql';
import { ipKeyGenerator } from 'express-rate-limit';
import type { AccessError, Principal } from '../application/access/access-control';
import { ApiContext, ApiDeps } from './context';
import { errorBody } from './errors';
import { FixedWindows } from './fixed-windows';
import { Limits } from './limits';
import { OperationBudget } from './operation-budget';

/** An address past its limit of refused requests: refused without a look at the log and without an audit record. */
export interface TooManyRefusals {
  readonly code: 'RATE_LIMITED';
  readonly message: string;
  /** Seconds until the address may try again. */
  readonly retryAfter: number;
}

export type Authentication = E.Either<AccessError | TooManyRefusals, Principal>;

const addressKeys = new Map<string, string>();
/** Addresses kept before the memo starts afresh: enough for every console of a site, bounded against scans. */
const ADDRESS_KEYS_KEPT = 10_000;

/**
 * The key a request is counted under by address (IPv6 by /56): `address:` cannot begin a principal
 * id, which has no colon. Remembered per address, as telling IPv6 from IPv4 takes a long regular
 * expression and every request asks.
 */
export const addressKey = (ip: string | undefined): string => {
  const address = ip ?? '';
  let key = addressKeys.get(address);
  if (key === undefined) {
    if (addressKeys.size >= ADDRESS_KEYS_KEPT) addressKeys.clear();
    key = `address:${ipKeyGenerator(address)}`;
    addressKeys.set(address, key);
  }
  return key;
};

/**
 * Authentication with a limit on refused requests per address, in fixed windows: a request
 * without a token, with a malformed one or with one that does not work. Each such refusal writes
 * one AccessDenied event, so without the limit anyone could fill the log; with it, an address
 * writes at most `limit` of them per window, and past it is answered RATE_LIMITED with none. A
 * token the principals already known recognise never counts and is never refused by the limit:
 * others behind the same address (a NAT, a proxy) failing cannot lock a working console out.
 * Every other attempt counts from its start until it succeeds, so a burst cannot slip past the
 * limit while the first refusals are being written (an unknown token costs a read of the log's
 * tail as well).
 */
export class Authenticator {
  private readonly refusals: FixedWindows;

  constructor(
    private readonly access: ApiDeps['access'],
    private readonly limits: Limits['authenticationFailures'],
    now?: () => number,
  ) {
    this.refusals = new FixedWindows(limits.windowMs, now);
  }

  /** `header` is the Authorization header, if any; `ip` is the peer's address. */
  async authenticate(header: string | undefined, ip: string | undefined): Promise<Authentication> {
    const known = header === undefined ? undefined : this.access.recognise(header);
    if (known !== undefined) return E.right(known);
    const address = addressKey(ip);
    const running = this.refusals.current(address);
    if (running !== undefined && running.count >= this.limits.limit) return E.left(this.tooMany(this.refusals.secondsLeft(running)));
    const window = this.refusals.count(address);
    let authentication: Authentication;
    try {
      authentication = await this.access.authenticate(header);
    } catch (error) {
      // No verdict (the store unavailable): nothing was refused, so nothing counts.
      window.count--;
      throw error;
    }
    // A token made a moment ago, found in the log's tail.
    if (E.isRight(authentication)) window.count--;
    return authentication;
  }

  private tooMany(retryAfter: number): TooManyRefusals {
    const { limit, windowMs } = this.limits;
    const message =
      `too many requests without a working token from this address: at most ${limit} every ${windowMs / 1000} s; ` +
      'wait for the time the Retry-After header gives, then retry with a current token';
    return { code: 'RATE_LIMITED', message, retryAfter };
  }
}

const STATUS: Readonly<Record<(AccessError | TooManyRefusals)['code'], number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
};

/** What a browser opening the address asks for, as Apollo tells it from a client that wants JSON. */
const PAGE_OR_ANSWER = ['application/json', 'application/graphql-response+json', 'multipart/mixed', 'text/html'];

/** Apollo serves its landing page for such a request, before it reads any operation. */
const asksForPage = (req: Request): boolean => req.method === 'GET' && req.accepts(PAGE_OR_ANSWER) === 'text/html';

/** The WWW-Authenticate challenge of a 401. */
const BEARER = 'Bearer realm="qkmp"';

/**
 * Authenticates first, before the rate limiter (which counts per principal) and before the body is
 * read: a request without a working token is answered here with one UNAUTHENTICATED error, so
 * its operation is never parsed or validated (nothing about the schema is told) and no resolver
 * runs. With `landingPage` (outside production), a browser may open the page without a token.
 */
export const authenticateRequests =
  (authenticator: Authenticator, landingPage: boolean): RequestHandler =>
  async (req, res, next) => {
    const header = req.headers.authorization;
    if (landingPage && header === undefined && asksForPage(req)) return next();
    const authentication = await authenticator.authenticate(header, req.socket.remoteAddress);
    if (E.isRight(authentication)) {
      res.locals.principal = authentication.right;
      return next();
    }
    const refusal = authentication.left;
    if ('retryAfter' in refusal) res.setHeader('Retry-After', String(refusal.retryAfter));
    // RFC 6750: the challenge names no error when no token was sent.
    if (refusal.code === 'UNAUTHENTICATED') res.setHeader('WWW-Authenticate', header === undefined ? BEARER : `${BEARER}, error="invalid_token"`);
    res.status(STATUS[refusal.code]).json(errorBody(refusal.code, refusal.message));
  };

/** The principal authenticateRequests admitted; undefined only for a browser let in to the landing page. */
export const principalOf = (res: Response): Principal | undefined => res.locals.principal;

/**
 * Apollo's context: the principal authenticateRequests found. Apollo answers a request for the
 * landing page before it asks for a context, so a request without one here is refused.
 */
export const contextOf = async ({ res }: ExpressContextFunctionArgument): Promise<ApiContext> => {
  const principal = principalOf(res);
  if (principal === undefined) {
    throw new GraphQLError('send an Authorization header "Bearer <token>" to run an operation', {
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    });
  }
  return { principal, budget: new OperationBudget(), sending: res.locals.sending };
};
