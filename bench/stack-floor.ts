import { ApolloServer, HeaderMap } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import * as E from 'fp-ts/Either';
import http from 'node:http';
import type { CommandBus } from '../application/command-bus';
import type { ReadModels } from '../application/ports/read-models';

// The least the mandated stack does for one operation, to measure what it costs on its own: Node's
// HTTP server, Apollo Server and graphql, on a schema of built-in types whose resolvers do only the
// work the baselines do (read the view; execute the command). No Express, body-parser,
// authentication, rate limit, armor, masking or custom scalars. An API built on this stack cannot
// outrun it, so its ratio bounds the API's.

const typeDefs = `#graphql
  type Device {
    serial: String! kind: String! status: String! credentialKind: String! organisation: String userId: String
    pinLocked: Boolean! initializedAt: String! distributedAt: String boundAt: String reportedLostAt: String
    lossCancelledAt: String frozenAt: String restoredAt: String destroyedAt: String pinLockedAt: String
    pinUnblockedAt: String updatedAt: String! position: Float!
  }
  type Receipt { position: Float! }
  input InitializeDeviceInput { commandId: String! serial: String! kind: String! credentialKind: String! credentialFingerprint: String! }
  type Query { device(serial: String!): Device }
  type Mutation { initializeDevice(input: InitializeDeviceInput!): Receipt }
`;

interface InitializeInput {
  readonly commandId: string;
  readonly serial: string;
  readonly kind: string;
  readonly credentialKind: string;
  readonly credentialFingerprint: string;
}

const send = (res: http.ServerResponse, status: number, body: string): void => {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
};

const readBody = (req: http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

/** An HTTP server answering POSTed JSON operations at any path with the bare stack; not listening yet. */
export const stackFloorServer = async (readModels: Pick<ReadModels, 'device'>, bus: Pick<CommandBus, 'execute'>): Promise<http.Server> => {
  const apollo = new ApolloServer({
    typeDefs,
    resolvers: {
      Query: { device: (_: unknown, { serial }: { serial: string }) => readModels.device(serial) },
      Mutation: {
        initializeDevice: async (_: unknown, { input }: { input: InitializeInput }) => {
          const { commandId, ...data } = input;
          const result = await bus.execute({ commandId, actor: { id: 'bench', role: 'SECURITY_ADMIN' } }, { type: 'InitializeDevice', data });
          if (E.isLeft(result)) throw new Error(result.left.message);
          return { position: result.right.position };
        },
      },
    },
    // The same settings as the API where they change the work per request.
    stringifyResult: (value) => JSON.stringify(value),
    persistedQueries: false,
    allowBatchedHttpRequests: false,
    stopOnTerminationSignals: false,
    plugins: [ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), ApolloServerPluginInlineTraceDisabled()],
  });
  await apollo.start();
  const server = http.createServer((req, res) => {
    void (async () => {
      const headers = new HeaderMap();
      for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
      const answer = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? 'POST', headers, search: '', body: JSON.parse(await readBody(req)) },
        context: async () => ({}),
      });
      if (answer.body.kind !== 'complete') throw new Error('the bare stack answered in chunks');
      send(res, answer.status ?? 200, answer.body.string);
    })().catch((error: unknown) => send(res, 500, JSON.stringify({ errors: [{ message: String(error) }] })));
  });
  server.on('close', () => void apollo.stop());
  return server;
};
