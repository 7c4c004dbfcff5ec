import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import express, { Express, RequestHandler } from 'express';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { authenticateRequests, Authenticator, contextOf } from './authentication';
import { ApiContext, ApiDeps } from './context';
import { expressMessages } from './express-messages';
import { documents } from './documents';
import { errorMasker } from './errors';
import { jsonErrors, notServed, rateLimiter, validationRules } from './hardening';
import { defaultLimits, Limits } from './limits';
import { Log, stderrLog } from './log';
import { buildSchema } from './schema';
import { serveWebSockets } from './websocket';

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

/**
 * Every answer here is for one principal and may name devices and holders: no cache may keep it.
 * Set for every response on the path, refusals included, in place of Apollo's cache-control
 * plugin, which would compute a policy by wrapping every field's resolver on every request.
 */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

/**
 * Marks the request's arrival before its body is read and its token checked: another console's
 * write that lands meanwhile refuses its command as a race it lost (CONFLICT), not as a state it chose.
 */
const markSending =
  (bus: ApiDeps['bus']): RequestHandler =>
  (_req, res, next) => {
    res.locals.sending = bus.sending();
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
  const rules = validationRules(limits, production);
  const authenticator = new Authenticator(deps.access, limits.authenticationFailures);

  const app = express();
  app.disable('x-powered-by');
  // A POSTed GraphQL answer is never revalidated: hashing each body for an ETag would be wasted.
  app.disable('etag');
  const httpServer = http.createServer(expressMessages(app), app);
  const webSocketDocuments = documents({
    schema,
    validationRules: rules.webSocket,
    maxTokens: limits.maxTokens,
    capacity: limits.cachedDocuments,
  });
  const limiter = rateLimiter(limits.rateLimit);
  const webSockets = serveWebSockets(httpServer, {
    path: GRAPHQL_PATH,
    schema,
    documents: webSocketDocuments,
    access: deps.access,
    authenticator,
    mask,
    limits,
    rateLimiter: limiter,
    log,
  });

  const apollo = new ApolloServer<ApiContext>({
    schema,
    validationRules: rules.http,
    introspection: !production,
    includeStacktraceInErrorResponses: false,
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    hideSchemaDetailsFromClientErrors: true,
    parseOptions: { maxTokens: limits.maxTokens },
    formatError: mask,
    // Apollo pretty-prints answers by default; consoles parse them, so compact JSON saves the work.
    stringifyResult: (value) => JSON.stringify(value),
    // No automatic persisted queries: every request sends its query, as every client here does.
    persistedQueries: false,
    // The process's owner closes the stores after the server; Apollo's own handler would end the
    // process first, leaving the log's and the vault's write-ahead files behind.
    stopOnTerminationSignals: false,
    plugins: [
      // Outside production, the page a newcomer pastes the README's operations into (with a
      // headers panel for the token). It sends no cookies (a principal is its bearer token), no
      // telemetry, and no introspection poll that would count against the rate limit.
      production
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({
            includeCookies: false,
            embed: { runTelemetry: false, initialState: { pollForSchemaUpdates: false } },
          }),
      ApolloServerPluginCacheControlDisabled(),
      // Inline traces are for federated subgraphs, which this schema is not.
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      { serverWillStart: async () => ({ drainServer: () => webSockets.close() }) },
    ],
  });
  await apollo.start();

  // One route for every method: its handlers run in turn without the per-middleware path matching of app.use.
  app.all(
    GRAPHQL_PATH,
    noStore,
    markSending(deps.bus),
    authenticateRequests(authenticator, !production),
    limiter.handler,
    // Only uncompressed JSON: requests are small, and a decompressor is one more parser facing the network.
    express.json({ limit: limits.maxBodyBytes, inflate: false }),
    expressMiddleware(apollo, {
      context: async (args) => ({ ...(await contextOf(args)), refused: () => limiter.refused(limiter.keyOf(args.req, args.res)) }),
    }),
  );
  // Other routes of this server mount here, before the error handler and the catch-all after it.
  app.use(jsonErrors(log, limits.maxBodyBytes));
  app.use(notServed(GRAPHQL_PATH));

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
    close: () => apollo.stop(),
  };
};
