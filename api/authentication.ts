import * as E from 'fp-ts/Either';
import type { ExpressContextFunctionArgument } from '@as-integrations/express5';
import type { RequestHandler, Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { AccessError, Principal } from '../application/access/access-control';
import { ApiContext, ApiDeps } from './context';
import { errorBody } from './errors';
import { FixedWindows } from './fixed-windows';
import { Limits } from './limits';
import { OperationBudget } from './operation-budget';

/** An address past its limit of refused tokens: refused before its token is looked at. */
export interface TooManyRefusals {
  readonly code: 'RATE_LIMITED';
  readonly message: string;
  /** Seconds until the address may try again. */
  readonly retryAfter: number;
}

export type Authentication = E.Either<AccessError | TooManyRefusals, Principal | null>;

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
 * Authentication with a limit on refused tokens per address, in fixed windows. Every refusal is
 * audited, so without it anyone could fill the log with made-up tokens. A token that works never
 * counts; every attempt counts from its start until it succeeds, so a burst cannot slip past the
 * limit while the first refusals are being written (an unknown token costs a read of the log's
 * tail as well). Past the limit,
 * the address is refused until its window ends whatever token it sends: a token cannot be looked
 * at without auditing a refusal.
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

  /**
   * Null for a request without an Authorization header: it may still reach what needs no
   * principal. `ip` is the peer's address.
   */
  async authenticate(header: string | undefined, ip: string | undefined): Promise<Authentication> {
    if (header === undefined) return E.right(null);
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
    if (E.isRight(authentication)) window.count--;
    return authentication;
  }

  private tooMany(retryAfter: number): TooManyRefusals {
    const { limit, windowMs } = this.limits;
    const message =
      `too many refused tokens from this address: at most ${limit} every ${windowMs / 1000} s; ` +
      'wait for the time the Retry-After header gives, then retry with a current token';
    return { code: 'RATE_LIMITED', message, retryAfter };
  }
}

const STATUS: Readonly<Record<(AccessError | TooManyRefusals)['code'], number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
};

/**
 * Authenticates before the rate limiter, which counts per principal, and before the body is read:
 * a refused token is answered here, so its body is never parsed and no resolver runs.
 */
export const authenticateRequests =
  (authenticator: Authenticator): RequestHandler =>
  async (req, res, next) => {
    const authentication = await authenticator.authenticate(req.headers.authorization, req.socket.remoteAddress);
    if (E.isRight(authentication)) {
      res.locals.principal = authentication.right;
      return next();
    }
    const refusal = authentication.left;
    if ('retryAfter' in refusal) res.setHeader('Retry-After', String(refusal.retryAfter));
    res.status(STATUS[refusal.code]).json(errorBody(refusal.code, refusal.message));
  };

/** The principal authenticateRequests admitted; null for a request without a token. */
export const principalOf = (res: Response): Principal | null => res.locals.principal ?? null;

/** Apollo's context: the principal, found by authenticateRequests. */
export const contextOf = async ({ res }: ExpressContextFunctionArgument): Promise<ApiContext> => ({
  principal: principalOf(res),
  budget: new OperationBudget(),
});
