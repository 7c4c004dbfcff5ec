import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { GraphQLError, NoSchemaIntrospectionCustomRule, specifiedRules, ValidationContext, ValidationRule } from 'graphql';
import { addressKey, principalOf } from './authentication';
import { errorBody } from './errors';
import { FixedWindows } from './fixed-windows';
import { Limits } from './limits';
import { describeError, Log } from './log';

/**
 * Apollo would run a subscription sent over HTTP as a query of its root field: point the client
 * at WebSocket instead. A rule costs nothing per request, as Apollo validates each text once.
 */
const subscriptionsOverWebSocket: ValidationRule = (context) => ({
  OperationDefinition: (node) => {
    if (node.operation !== 'subscription') return;
    const message =
      'subscriptions are served over WebSocket (graphql-transport-ws) on this path; send queries and mutations here';
    context.reportError(new GraphQLError(message, { nodes: node }));
  },
});

export interface ValidationRules {
  /** What Apollo adds to graphql's own rules; introspection is Apollo's own option. */
  readonly http: ValidationRule[];
  /** Every rule a subscription document must pass, as Apollo does not serve the WebSocket path. */
  readonly webSocket: ValidationRule[];
}

/**
 * graphql-armor's depth, alias, cost and directive limits, over HTTP and WebSocket alike. Tokens
 * and field suggestions are left to the parser's maxTokens and to Apollo's
 * hideSchemaDetailsFromClientErrors (documents.ts does the same over WebSocket), which answer 400
 * where armor's plugins would answer 500.
 */
export const validationRules = (limits: Limits, production: boolean): ValidationRules => {
  const armor = new ApolloArmor({
    maxDepth: { n: limits.maxDepth, ...refusedAs('nests fields %d levels deep', limits.maxDepth, 'select fewer levels of nested fields') },
    maxAliases: { n: limits.maxAliases, ...refusedAs('uses %d aliases', limits.maxAliases, 'send fewer aliased fields, or several requests') },
    costLimit: {
      maxCost: limits.maxCost,
      ...refusedAs(
        'has an estimated cost of %d',
        limits.maxCost,
        'a page size (first) multiplies the cost of what the page selects: ask for smaller pages or fewer fields, or send several requests',
      ),
    },
    maxDirectives: { n: limits.maxDirectives, ...refusedAs('uses %d directives', limits.maxDirectives, 'send fewer directives') },
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect().validationRules;
  return {
    http: [...armor, subscriptionsOverWebSocket],
    webSocket: [...specifiedRules, ...armor, ...(production ? [NoSchemaIntrospectionCustomRule] : [])],
  };
};

/**
 * graphql-armor words a refusal as a syntax error ("Syntax Error: Query depth limit of 8 exceeded,
 * found 9."), which it is not: the operation is reported instead with what it exceeded and what to
 * do. `measure` reads like "nests fields %d levels deep", %d standing for what armor found.
 */
const refusedAs = (measure: string, limit: number, remedy: string) => ({
  propagateOnRejection: false,
  onReject: [
    (context: ValidationContext | null, error: GraphQLError): void => {
      const found = /found (\d+(?:\.\d+)?(?:e[+-]?\d+)?)/.exec(error.message)?.[1] ?? 'more';
      context?.reportError(
        new GraphQLError(`the operation ${measure.replace('%d', found)}, over the limit of ${limit}; ${remedy}`),
      );
    },
  ],
});

/**
 * Requests per principal in fixed windows, so one console cannot starve the others; a browser let
 * in to the landing page without one counts per address. Every answer carries the RateLimit and RateLimit-Policy
 * headers of the IETF draft (draft-ietf-httpapi-ratelimit-headers-08), without the partition key,
 * which would cost a hash per request.
 */
export const rateLimiter = ({ windowMs, limit, refusalWeight = 10 }: Limits['rateLimit']): RateLimiter => {
  const windows = new FixedWindows(windowMs);
  const keyOf = (req: Request, res: Response) => principalOf(res)?.id ?? addressKey(req.socket.remoteAddress);
  const seconds = Math.ceil(windowMs / 1000);
  const name = `"${limit}-in-${seconds}sec"`;
  const policy = `${name}; q=${limit}; w=${seconds}`;
  const rule = `too many requests: at most ${limit} every ${windowMs / 1000} s per principal`;
  const refusal = errorBody('RATE_LIMITED', `${rule}; wait for the time the RateLimit header gives, then retry`);
  const handler: RequestHandler = (req, res, next) => {
    const window = windows.count(keyOf(req, res));
    const left = windows.secondsLeft(window);
    res.setHeader('RateLimit-Policy', policy);
    res.setHeader('RateLimit', `${name}; r=${Math.max(0, limit - window.count)}; t=${left}`);
    if (window.count <= limit) return next();
    res.setHeader('Retry-After', String(left));
    res.status(429).json(refusal);
  };
  return {
    handler,
    rule,
    keyOf,
    admit: (key) => windows.count(key).count <= limit,
    refused: (key) => {
      // The request itself was counted once already.
      for (let i = 1; i < refusalWeight; i++) windows.count(key);
    },
  };
};

export interface RateLimiter {
  readonly handler: RequestHandler;
  /** What a refusal says of the limit, before its advice. */
  readonly rule: string;
  /** Whose window an HTTP request counts in: its principal's, or its address's. */
  readonly keyOf: (req: Request, res: Response) => string;
  /** Counts a request that does not come over HTTP (a subscription); false once the window is spent. */
  readonly admit: (key: string) => boolean;
  /** Counts a refusal the request met against the window it counted in. */
  readonly refused: (key: string) => void;
}

/** Any other path: where GraphQL is, in the API's error shape rather than Express's HTML page. */
export const notServed =
  (graphqlPath: string): RequestHandler =>
  (_req, res) => {
    res.status(404).json(errorBody('NOT_FOUND', `nothing is served at this path; GraphQL is at ${graphqlPath}`));
  };

/**
 * Express's default would answer body errors with an HTML page: a client gets JSON in GraphQL's
 * error shape instead, and anything unexpected is logged and masked.
 */
export const jsonErrors =
  (log: Log, maxBodyBytes: number): ErrorRequestHandler =>
  (error: { type?: unknown; message?: unknown }, _req, res, next) => {
    if (res.headersSent) return next(error);
    switch (error.type) {
      case 'entity.too.large':
        res
          .status(413)
          .json(errorBody('PAYLOAD_TOO_LARGE', `the request body exceeds ${maxBodyBytes} bytes; send a smaller request`));
        return;
      case 'entity.parse.failed':
        // The parser's words locate the fault in the client's own body: often a query pasted with its line breaks.
        res
          .status(400)
          .json(
            errorBody(
              'BAD_REQUEST',
              `the request body is not valid JSON (${String(error.message)}); send a GraphQL request as a JSON object, ` +
                "with the query's line breaks written as \\n and its double quotes as \\\" inside its string",
            ),
          );
        return;
      case 'encoding.unsupported':
      case 'charset.unsupported':
        res.status(415).json(errorBody('BAD_REQUEST', 'the request body must be JSON in UTF-8, uncompressed'));
        return;
    }
    log('http.unexpected_error', { error: describeError(error) });
    res.status(500).json(errorBody('INTERNAL_SERVER_ERROR', 'Internal server error: the details are logged; retry later'));
  };
