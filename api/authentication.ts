import * as E from 'fp-ts/Either';
import type { RequestHandler, Response } from 'express';
import type { AccessError, Principal } from '../application/access/access-control';
import { ApiContext, ApiDeps } from './context';
import { clientError } from './errors';

type Authentication = E.Either<AccessError, Principal | null>;

/** Authenticates before the rate limiter, which counts per principal, and before the body is parsed. */
export const authenticateRequests =
  (access: ApiDeps['access']): RequestHandler =>
  async (req, res, next) => {
    res.locals.authentication = await access.authenticate(req.headers.authorization);
    next();
  };

const authenticationOf = (res: Response): Authentication | undefined => res.locals.authentication;

export const principalOf = (res: Response): Principal | null => {
  const authentication = authenticationOf(res);
  return authentication !== undefined && E.isRight(authentication) ? authentication.right : null;
};

/** Apollo's context: a request whose token was refused gets 401 before any resolver runs. */
export const contextOf = async ({ res }: { res: Response }): Promise<ApiContext> => {
  const authentication = authenticationOf(res);
  if (authentication === undefined) throw new Error('the request reached GraphQL without authentication');
  if (E.isLeft(authentication)) {
    const { code, message } = authentication.left;
    throw clientError(code, message, { http: { status: code === 'UNAUTHENTICATED' ? 401 : 403 } });
  }
  return { principal: authentication.right };
};
