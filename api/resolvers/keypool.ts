import { keyPoolAggregate, KeyPoolState, rangeOf } from '../../domain/keypool';
import { ResolverEnv } from '../context';
import { commandMutations } from './commands';
import { query } from './queries';

/**
 * A pool's state holds every range ever carved; a console that lost a race needs the balance and
 * the range its command named, not all of them.
 */
const presentPool = (state: KeyPoolState, data: Readonly<Record<string, unknown>>) => ({
  status: state.status,
  balance: state.balance,
  range: typeof data.rangeId === 'string' ? (rangeOf(state, data.rangeId) ?? null) : null,
});

export const keyPoolResolvers = (env: ResolverEnv) => {
  const { readModels } = env.deps;
  return {
    Query: {
      poolBalance: query(
        env,
        'poolBalance',
        ({ sourceId }: { sourceId: string }) => readModels.poolBalance(sourceId),
        ({ sourceId }) => sourceId,
      ),
      pools: query(env, 'pools', () => readModels.pools()),
    },
    Mutation: commandMutations(env, keyPoolAggregate, presentPool),
  };
};
