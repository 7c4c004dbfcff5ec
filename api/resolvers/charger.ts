import { chargerCommandCodecs } from '../../domain/charger/commands';
import { ResolverEnv } from '../context';
import { commandMutations } from './commands';
import { pageOf, PageArgs, query } from './queries';

interface ChargerArgs {
  readonly chargerId: string;
}

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
    Mutation: commandMutations(env, chargerCommandCodecs),
  };
};
