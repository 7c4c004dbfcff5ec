import { Aggregate } from '../shared/aggregate';
import { KeyPoolCommand, keyPoolCommandCodecs } from './commands';
import { decide } from './decide';
import { evolve } from './evolve';
import { KeyPoolEvent, keyPoolEventCodecs } from './events';
import { initialKeyPoolState, KeyPoolState, poolBalance, rangeOf } from './state';

export const keyPoolAggregate: Aggregate<KeyPoolState, KeyPoolCommand, KeyPoolEvent> = {
  name: 'key pool',
  streamPrefix: 'keypool',
  initialState: initialKeyPoolState,
  commandCodecs: keyPoolCommandCodecs,
  eventCodecs: keyPoolEventCodecs,
  targetOf: (command) => command.data.sourceId,
  decide,
  evolve,
};

export { keyPoolCommandCodecs, keyPoolEventCodecs, initialKeyPoolState, poolBalance, rangeOf };
export type { KeyPoolCommand, KeyPoolEvent, KeyPoolState };
export type { KeyRange, PoolBalance, RangeStatus } from './state';
