import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { Express, RequestHandler } from 'express';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { authenticateRequests, contextOf } from './authentication';
import { ApiContext, ApiDeps } from './context';
import { errorMasker } from './errors';
import { armorProtection, jsonErrors, rateLimiter, webSocketValidationRules } from './hardening';
import { defaultLimits, Limits } from './limits';
import { Log, stderrLog } from './log';
import { buildSchema } from './schema';
import { serveWebSocket } from './websocket';

export const GRAPHQL_PATH = '/graphql';

export interface ApiServerOptions {
  /** Introspection off; defaults to NODE_ENV=production. Stack traces are never sent. */
  readonly production?: boolean;
  readonly limits?: Partial<Limits>;
  readonly log?: Log;
}

export interface ApiServer {
  readonly app: Express;
  readonly httpServer: http.Server;
  /** Starts listening; resolves to the GraphQL URL. */
  listen(port: number, host: string): Promise<string>;
  /** Ends subscriptions, lets requests in flight finish, and stops listening. */
  close(): Promise<void>;
}

// Express 5 leaves req.body unset when no parser matched (a text/plain form post, say); Apollo
// would answer that with a 500 about middleware set-up instead of its own 400 CSRF refusal.
const bodyAlwaysSet: RequestHandler = (req, _res, next) => {
  if (!Object.hasOwn(req, 'body')) req.body = undefined;
  next();
};

/**
 * Every answer here is for one principal and may name devices and holders: no cache may keep it.
 * Set for every response on the path, refusals included, in place of Apollo's cache-control
 * plugin, which would compute a policy by wrapping every field's resolver on every request.
 */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/** The GraphQL API on one HTTP server: queries and mutations over HTTP, subscriptions over WebSocket, both at /graphql. */
export const createApiServer = async (deps: ApiDeps, options: ApiServerOptions = {}): Promise<ApiServer> => {
  const production = options.production ?? process.env.NODE_ENV === 'production';
  const limits: Limits = { ...defaultLimits, ...options.limits };
  const log = options.log ?? stderrLog;
  const mask = errorMasker(log);
  const schema = buildSchema({
    deps,
    consistencyTimeoutMs: limits.consistencyTimeoutMs,
    maxQueuedPerSubscription: limits.maxQueuedPerSubscription,
  });
  const armor = armorProtection(limits);

  const app = express();
  app.disable('x-powered-by');
  // A POSTed GraphQL answer is never revalidated: hashing each body for an ETag would be wasted.
  app.disable('etag');
  const httpServer = http.createServer(app);
  const wss = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH, maxPayload: limits.maxBodyBytes });
  const webSockets = serveWebSocket(wss, {
    schema,
    access: deps.access,
    validationRules: webSocketValidationRules(armor.validationRules, production),
    mask,
    limits,
    log,
  });

  const apollo = new ApolloServer<ApiContext>({
    schema,
    validationRules: armor.validationRules,
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    hideSchemaDetailsFromClientErrors: true,
    parseOptions: { maxTokens: limits.maxTokens },
    formatError: mask,
    plugins: [
      ...armor.plugins,
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      // Inline traces are for federated subgraphs, which this schema is not.
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      {
        serverWillStart: async () => ({
          drainServer: async () => {
            await webSockets.dispose();
          },
        }),
      },
    ],
  });
  await apollo.start();

  app.use(
    GRAPHQL_PATH,
    noStore,
    authenticateRequests(deps.access),
    rateLimiter(limits.rateLimit),
    express.json({ limit: limits.maxBodyBytes }),
    bodyAlwaysSet,
    expressMiddleware(apollo, { context: contextOf }),
  );
  // Other routes of this server mount here, before the error handler.
  app.use(jsonErrors(log, limits.maxBodyBytes));

  return {
    app,
    httpServer,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          httpServer.off('error', reject);
          const { port: bound } = httpServer.address() as AddressInfo;
          resolve(`http://${host.includes(':') ? `[${host}]` : host}:${bound}${GRAPHQL_PATH}`);
        });
      }),
    close: async () => {
      await apollo.stop();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
};
