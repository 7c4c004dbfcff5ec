import { Aggregate } from '../shared/aggregate';
import { PrincipalCommand, principalCommandCodecs } from './commands';
import { decide } from './decide';
import { PrincipalEvent, principalEventCodecs } from './events';
import { evolve } from './evolve';
import { initialPrincipalState, PrincipalState } from './state';

/** Who may call the platform: a named holder of one bearer token and one role. */
export const principalAggregate: Aggregate<PrincipalState, PrincipalCommand, PrincipalEvent> = {
  name: 'principal',
  streamPrefix: 'principal',
  initialState: initialPrincipalState,
  commandCodecs: principalCommandCodecs,
  eventCodecs: principalEventCodecs,
  targetOf: (command) => command.data.principalId,
  decide,
  evolve,
};

export { ANONYMOUS, PrincipalId, PrincipalRole } from './fields';
export { principalCommandCodecs, principalEventCodecs, initialPrincipalState };
export type { PrincipalCommand, PrincipalEvent, PrincipalState };
export type { PrincipalStatus } from './state';
