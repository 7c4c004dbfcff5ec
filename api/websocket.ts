import type http from 'node:http';
import type { Duplex } from 'node:stream';
import * as E from 'fp-ts/Either';
import { ExecutionArgs, getOperationAST, GraphQLError, GraphQLFormattedError, GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { Principal } from '../application/access/access-control';
import { addressKey, Authenticator } from './authentication';
import { ApiContext, ApiDeps } from './context';
import { OperationBudget } from './operation-budget';
import { Documents, withCode } from './documents';
import { clientError } from './errors';
import type { RateLimiter } from './hardening';
import { Limits } from './limits';
import { describeError, Log } from './log';
import { webSocketAdmission } from './websocket-admission';

export interface WebSocketOptions {
  readonly path: string;
  readonly schema: GraphQLSchema;
  readonly documents: Documents;
  readonly access: ApiDeps['access'];
  readonly authenticator: Authenticator;
  readonly mask: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly limits: Limits;
  /** The HTTP path's per-principal window: a subscription counts in it, and so does its refusal. */
  readonly rateLimiter: Pick<RateLimiter, 'rule' | 'admit' | 'refused'>;
  readonly log: Log;
}

export interface WebSocketService {
  /** Ends every subscription and closes every socket. */
  close(): Promise<void>;
}

/** The socket's principal, set once its connection_init was authenticated. */
type Extra = { principal?: Principal };

// Close reasons are limited to 123 bytes: they say what to do, not why in detail.
const UNAUTHORIZED = "Unauthorized: send connectionParams.authorization 'Bearer <token>', or the Authorization header";
const TOKEN_RETIRED = 'Unauthorized: the token was revoked or rotated; reconnect with a current token';
/** As HTTP's 429, in the range RFC 6455 leaves to applications. */
const TOO_MANY_REFUSALS = 4429;

/**
 * Subscriptions over graphql-ws on the GraphQL path. The HTTP route's protections are applied
 * here too: a token in connectionParams.authorization checked on connect, or in the upgrade
 * request's Authorization header checked before the upgrade (with the same limit on refused
 * tokens per address); the same parsed and validated documents; the same error masking.
 * A revoked or rotated token's connections are closed as soon as this process applies the event,
 * and every `webSocketRecheckMs` all tokens are checked again in case a notice was missed.
 * Connections are capped in all, per address, and per address while unauthenticated, and one that
 * sends no connection_init is closed after `webSocketInitTimeoutMs`. Queries and mutations are
 * refused here: they go over HTTP, where the body limit and the rate limit apply.
 */
export const serveWebSockets = (httpServer: http.Server, options: WebSocketOptions): WebSocketService => {
  const { path, schema, documents, access, authenticator, mask, limits, rateLimiter, log } = options;
  // Handed only upgrades, not the whole server: attached to it, ws would re-emit the server's own
  // errors (a port in use) as its own, which graphql-ws reports as a fault of this code.
  const wss = new WebSocketServer({
    noServer: true,
    path,
    maxPayload: limits.maxBodyBytes,
    verifyClient: ({ req }, accept) => {
      const header = req.headers.authorization;
      const refused = refusal(req, header !== undefined);
      if (refused !== undefined) return accept(false, ...refused);
      if (header === undefined) return accept(true);
      // A token in the upgrade request is checked before it: a refused one never holds a slot.
      authenticator.authenticate(header, req.socket.remoteAddress).then(
        (authentication) => {
          if (E.isLeft(authentication)) {
            const { left } = authentication;
            if ('retryAfter' in left) return accept(false, 429, left.message, { 'Retry-After': String(left.retryAfter) });
            return accept(false, 401, left.message);
          }
          // Others may have opened while the token was checked; the upgrade completes in this turn.
          const now = refusal(req, true);
          return now === undefined ? accept(true) : accept(false, ...now);
        },
        (error) => {
          log('websocket.unexpected_error', { error: describeError(error) });
          accept(false, 503, 'the token could not be checked now; retry later');
        },
      );
    },
  });
  const admission = webSocketAdmission(limits);
  /** Why a connection may not open now, as an HTTP status and message. */
  const refusal = (request: http.IncomingMessage, authenticated: boolean): [number, string] | undefined => {
    if (wss.clients.size >= limits.maxWebSockets) {
      return [503, `at most ${limits.maxWebSockets} WebSocket connections are open; retry later`];
    }
    const reason = admission.refusal(addressKey(request.socket.remoteAddress), authenticated);
    return reason === undefined ? undefined : [429, reason];
  };
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((error) => {
      const coded = withCode(error, 'BAD_USER_INPUT');
      return mask(coded.toJSON(), coded);
    });

  /** Each authenticated socket's header and principal, for the recheck. */
  const authenticated = new Map<WebSocket, { readonly header: string; readonly principal: Principal }>();
  const retire = (socket: WebSocket): void => {
    authenticated.delete(socket);
    socket.close(CloseCode.Unauthorized, TOKEN_RETIRED);
  };
  // Called as the directory applies the event, before any later one: ws sends nothing on a closing socket.
  const stopListening = access.onTokenRetired((retired) => {
    for (const [socket, { header, principal }] of authenticated) {
      if (principal.id === retired.id && !access.holdsToken(principal, header)) retire(socket);
    }
  });
  const recheck = async (): Promise<void> => {
    for (const [socket, { header, principal }] of authenticated) {
      let current;
      try {
        current = await access.authenticate(header);
      } catch (error) {
        // Only a refusal writes anything: a check that cannot finish fails closed.
        log('websocket.unexpected_error', { error: describeError(error) });
      }
      if (current === undefined || E.isLeft(current) || current.right?.id !== principal.id) retire(socket);
    }
  };
  let checking = false;
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    void recheck().finally(() => (checking = false));
  }, limits.webSocketRecheckMs);
  timer.unref();

  const server = useServer<Record<string, unknown> | undefined, Extra>(
    {
      connectionInitWaitTimeout: limits.webSocketInitTimeoutMs,
      // Every connection needs a principal: no subscription is open to a request without one.
      onConnect: async (ctx) => {
        const { socket, request } = ctx.extra;
        const param = ctx.connectionParams?.authorization;
        // The upgrade request's header was checked before the upgrade; checked again, it is a lookup.
        const header = typeof param === 'string' ? param : request.headers.authorization;
        let authentication;
        try {
          authentication = await authenticator.authenticate(header, request.socket.remoteAddress);
        } catch (error) {
          log('websocket.unexpected_error', { error: describeError(error) });
          socket.close(CloseCode.InternalServerError, 'Internal server error');
          return false;
        }
        if (E.isRight(authentication) && header !== undefined) {
          // The token may have been retired while its check was finishing, too late for the notice.
          if (!access.holdsToken(authentication.right, header)) {
            socket.close(CloseCode.Unauthorized, TOKEN_RETIRED);
            return false;
          }
          ctx.extra.principal = authentication.right;
          authenticated.set(socket, { header, principal: authentication.right });
          socket.once('close', () => authenticated.delete(socket));
          admission.authenticated(socket);
          return true;
        }
        if (E.isLeft(authentication) && authentication.left.code === 'RATE_LIMITED') {
          socket.close(TOO_MANY_REFUSALS, 'Too many refused tokens from this address; retry later');
        } else socket.close(CloseCode.Unauthorized, UNAUTHORIZED);
        return false;
      },
      onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
        // Every subscribe counts in the principal's window, as every HTTP request does, whatever becomes of it.
        const principal = ctx.extra.principal ?? null;
        if (principal !== null && !rateLimiter.admit(principal.id)) {
          return [clientError('RATE_LIMITED', `${rateLimiter.rule}; subscribe again later`)];
        }
        if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerSocket) {
          const message = `at most ${limits.maxSubscriptionsPerSocket} subscriptions per connection; complete one first`;
          return [clientError('TOO_MANY_SUBSCRIPTIONS', message)];
        }
        const document = documents(payload.query);
        if (E.isLeft(document)) return document.left;
        const operation = getOperationAST(document.right, payload.operationName);
        if (operation && operation.operation !== 'subscription') {
          const message = 'only subscriptions are served over WebSocket; send queries and mutations over HTTP';
          return [clientError('BAD_REQUEST', message)];
        }
        const contextValue: ApiContext = {
          principal,
          budget: new OperationBudget(),
          ...(principal !== null && { refused: () => rateLimiter.refused(principal.id) }),
        };
        return {
          schema,
          document: document.right,
          variableValues: payload.variables,
          operationName: payload.operationName,
          contextValue,
        };
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) } : undefined,
      onError: (_ctx, _id, _payload, errors) => format(errors),
      // A hook that throws closes the socket with a generic reason, never the error's message.
      isProd: true,
    },
    wss,
  );

  const upgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer): void =>
    wss.handleUpgrade(request, socket, head, (client) => {
      admission.opened(client, addressKey(request.socket.remoteAddress), request.headers.authorization !== undefined);
      wss.emit('connection', client, request);
    });
  httpServer.on('upgrade', upgrade);

  return {
    close: async () => {
      httpServer.off('upgrade', upgrade);
      stopListening();
      clearInterval(timer);
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
};
