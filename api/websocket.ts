import * as E from 'fp-ts/Either';
import {
  DocumentNode,
  ExecutionArgs,
  getOperationAST,
  GraphQLError,
  GraphQLFormattedError,
  GraphQLSchema,
  parse,
  validate,
  ValidationRule,
} from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocketServer } from 'ws';
import type { Principal } from '../application/access/access-control';
import { ApiContext, ApiDeps } from './context';
import { clientError } from './errors';
import { Limits } from './limits';
import { describeError, Log } from './log';

export interface WebSocketOptions {
  readonly schema: GraphQLSchema;
  readonly access: ApiDeps['access'];
  readonly validationRules: readonly ValidationRule[];
  readonly mask: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly limits: Limits;
  readonly log: Log;
}

/** The socket's principal, set once its connection_init was authenticated. */
type Extra = { principal?: Principal };

const recoded = (error: GraphQLError, code: string, message = error.message): GraphQLError =>
  new GraphQLError(message, {
    nodes: error.nodes,
    originalError: error.originalError,
    path: error.path,
    extensions: { ...error.extensions, code },
  });

/** graphql-js reports request errors (bad variables, no such operation) without a code; Apollo says BAD_USER_INPUT. */
const withCode = (error: GraphQLError, code: string): GraphQLError =>
  error.extensions.code === undefined ? recoded(error, code) : error;

/**
 * As Apollo answers over HTTP: one code for every rule, armor's included, and no "Did you mean ...?"
 * hints at the schema (hideSchemaDetailsFromClientErrors).
 */
const validationFailure = (error: GraphQLError): GraphQLError =>
  recoded(error, 'GRAPHQL_VALIDATION_FAILED', error.message.replace(/ ?Did you mean(.+?)\?$/, ''));

/**
 * Subscriptions over graphql-ws on the GraphQL path. None of Apollo's request pipeline runs here,
 * so this re-applies it: a token in connectionParams.authorization checked on connect, the parser's
 * token limit, the same validation rules, and the same error masking. Queries and mutations are
 * refused here: they go over HTTP, where the body limit, rate limit and CSRF checks apply.
 */
export const serveWebSocket = (wss: WebSocketServer, options: WebSocketOptions) => {
  const { schema, access, validationRules, mask, limits, log } = options;
  const format = (errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
    errors.map((error) => {
      const coded = withCode(error, 'BAD_USER_INPUT');
      return mask(coded.toJSON(), coded);
    });

  return useServer<Record<string, unknown> | undefined, Extra>(
    {
      // Every connection needs a principal: no subscription is open to a request without one.
      onConnect: async (ctx) => {
        const header = ctx.connectionParams?.authorization;
        let authentication;
        try {
          authentication = await access.authenticate(typeof header === 'string' ? header : undefined);
        } catch (error) {
          log('websocket.unexpected_error', { error: describeError(error) });
          ctx.extra.socket.close(CloseCode.InternalServerError, 'Internal server error');
          return false;
        }
        if (E.isRight(authentication) && authentication.right !== null) {
          ctx.extra.principal = authentication.right;
          return true;
        }
        // Close reasons are limited to 123 bytes: say what to send, not why in detail.
        const reason = "Unauthorized: send connectionParams.authorization 'Bearer <token>'";
        ctx.extra.socket.close(CloseCode.Unauthorized, reason);
        return false;
      },
      onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
        if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerSocket) {
          const message = `at most ${limits.maxSubscriptionsPerSocket} subscriptions per connection; complete one first`;
          return [clientError('TOO_MANY_SUBSCRIPTIONS', message)];
        }
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: limits.maxTokens });
        } catch (error) {
          if (error instanceof GraphQLError) return [withCode(error, 'GRAPHQL_PARSE_FAILED')];
          throw error;
        }
        const invalid = validate(schema, document, validationRules);
        if (invalid.length > 0) return invalid.map(validationFailure);
        const operation = getOperationAST(document, payload.operationName);
        if (operation && operation.operation !== 'subscription') {
          const message = 'only subscriptions are served over WebSocket; send queries and mutations over HTTP';
          return [clientError('BAD_REQUEST', message)];
        }
        const contextValue: ApiContext = { principal: ctx.extra.principal ?? null };
        return { schema, document, variableValues: payload.variables, operationName: payload.operationName, contextValue };
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) } : undefined,
      onError: (_ctx, _id, _payload, errors) => format(errors),
      // A hook that throws closes the socket with a generic reason, never the error's message.
      isProd: true,
    },
    wss,
  );
};
