import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLSchema } from 'graphql';
import { ResolverEnv } from '../context';
import { auditResolvers } from '../resolvers/audit';
import { chargeResolvers } from '../resolvers/charge';
import { chargerResolvers } from '../resolvers/charger';
import { deviceResolvers } from '../resolvers/device';
import { keyPoolResolvers } from '../resolvers/keypool';
import { viewsResolvers } from '../resolvers/views';
import { DateTime, JSONScalar, SafeInt } from '../scalars';
import { auditTypeDefs } from './audit';
import { chargeTypeDefs } from './charge';
import { chargerTypeDefs } from './charger';
import { commonTypeDefs } from './common';
import { deviceTypeDefs } from './device';
import { keyPoolTypeDefs } from './keypool';

export const typeDefs = [commonTypeDefs, deviceTypeDefs, chargerTypeDefs, keyPoolTypeDefs, chargeTypeDefs, auditTypeDefs];

/** One schema for HTTP and WebSocket, so both run the same resolvers. */
export const buildSchema = (env: ResolverEnv): GraphQLSchema =>
  makeExecutableSchema({
    typeDefs,
    resolvers: [
      { SafeInt, DateTime, JSON: JSONScalar },
      viewsResolvers(env),
      deviceResolvers(env),
      chargerResolvers(env),
      keyPoolResolvers(env),
      chargeResolvers(env),
      auditResolvers(env),
    ],
    // A resolver for a field the SDL lacks (a command without its mutation) fails at start-up.
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
