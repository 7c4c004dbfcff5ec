import { chargerAggregate, ChargerState } from '../../domain/charger';
import { ResolverEnv } from '../context';
import { commandMutations } from './commands';
import { pageOf, PageArgs, query } from './queries';

interface ChargerArgs {
  readonly chargerId: string;
}

/**
 * A charger as a console may see it: without the golden boot measurements, which no query shows
 * and which a charger could replay as its own measurements if it learnt them.
 */
const presentCharger = ({ golden: _golden, ...shown }: ChargerState) => shown;

export const chargerResolvers = (env: ResolverEnv) => {
  const { readModels } = env.deps;
  return {
    Query: {
      charger: query(
        env,
        'charger',
        ({ chargerId }: ChargerArgs) => readModels.charger(chargerId),
        // The charger id is the target: a CHARGER may read only its own.
        ({ chargerId }) => chargerId,
      ),
      chargers: query(env, 'chargers', (args: PageArgs, context) => readModels.chargers(pageOf(args, context))),
    },
    Mutation: commandMutations(env, chargerAggregate, presentCharger),
  };
};
