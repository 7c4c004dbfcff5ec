import { ResolverEnv } from '../context';
import { query } from './queries';

export const viewsResolvers = (env: ResolverEnv) => ({
  Query: {
    viewsStatus: query(env, 'viewsStatus', () => env.deps.readModels.status()),
  },
});
