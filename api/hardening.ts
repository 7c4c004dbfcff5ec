import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { NoSchemaIntrospectionCustomRule, specifiedRules, ValidationRule } from 'graphql';
import { principalOf } from './authentication';
import { Limits } from './limits';
import { describeError, Log } from './log';

/**
 * graphql-armor's depth, alias, cost and directive limits. Tokens and field suggestions are left
 * to Apollo's own parseOptions.maxTokens and hideSchemaDetailsFromClientErrors, which answer 400
 * where armor's plugins would answer 500.
 */
export const armorProtection = (limits: Limits) =>
  new ApolloArmor({
    maxDepth: { n: limits.maxDepth },
    maxAliases: { n: limits.maxAliases },
    costLimit: { maxCost: limits.maxCost },
    maxDirectives: { n: limits.maxDirectives },
    maxTokens: { enabled: false },
    blockFieldSuggestion: { enabled: false },
  }).protect();

/** The rules Apollo applies over HTTP, for the WebSocket path that bypasses Apollo. */
export const webSocketValidationRules = (armorRules: readonly ValidationRule[], production: boolean): ValidationRule[] => [
  ...specifiedRules,
  ...armorRules,
  ...(production ? [NoSchemaIntrospectionCustomRule] : []),
];

const errorBody = (code: string, message: string) => ({ errors: [{ message, extensions: { code } }] });

/**
 * Per principal, so one console cannot starve the others; requests without a principal count per
 * address (`address:` cannot begin a principal id, which has no colon).
 */
export const rateLimiter = ({ windowMs, limit }: Limits['rateLimit']): RequestHandler =>
  rateLimit({
    windowMs,
    limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req, res) => principalOf(res)?.id ?? `address:${ipKeyGenerator(req.ip ?? '')}`,
    handler: (_req, res: Response) => {
      res
        .status(429)
        .json(
          errorBody(
            'RATE_LIMITED',
            `too many requests: at most ${limit} every ${windowMs / 1000} s per principal; ` +
              'wait for the time the RateLimit header gives, then retry',
          ),
        );
    },
  });

/**
 * Express's default would answer body errors with an HTML page: a client gets JSON in GraphQL's
 * error shape instead, and anything unexpected is logged and masked.
 */
export const jsonErrors =
  (log: Log, maxBodyBytes: number): ErrorRequestHandler =>
  (error: { type?: unknown }, _req, res, next) => {
    if (res.headersSent) return next(error);
    switch (error.type) {
      case 'entity.too.large':
        res
          .status(413)
          .json(errorBody('PAYLOAD_TOO_LARGE', `the request body exceeds ${maxBodyBytes} bytes; send a smaller request`));
        return;
      case 'entity.parse.failed':
        res.status(400).json(errorBody('BAD_REQUEST', 'the request body is not valid JSON; send a GraphQL request'));
        return;
      case 'encoding.unsupported':
      case 'charset.unsupported':
        res.status(415).json(errorBody('BAD_REQUEST', 'the request body must be JSON in UTF-8'));
        return;
    }
    log('http.unexpected_error', { error: describeError(error) });
    res.status(500).json(errorBody('INTERNAL_SERVER_ERROR', 'Internal server error: the details are logged; retry later'));
  };
