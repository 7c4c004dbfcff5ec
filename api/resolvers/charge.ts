import { chargeCommandCodecs } from '../../domain/charge';
import { ResolverEnv } from '../context';
import { commandMutations } from './commands';

// Charges have no view of their own yet: their progress shows in the audit and in the key balances.
export const chargeResolvers = (env: ResolverEnv) => ({
  Mutation: commandMutations(env, chargeCommandCodecs),
});
