import { Aggregate } from '../shared/aggregate';
import { SaeKeysCommand, saeKeysCommandCodecs } from './commands';
import { decide, KEYS_NOT_FOUND } from './decide';
import { evolve } from './evolve';
import { SaeKeysEvent, saeKeysEventCodecs } from './events';
import { initialSaeKeysState, SaeKeysState } from './state';

/** Keys handed out through ETSI GS QKD 014, one stream per master SAE (a gateway, or a charged device). */
export const saeKeysAggregate: Aggregate<SaeKeysState, SaeKeysCommand, SaeKeysEvent> = {
  name: 'SAE keys',
  streamPrefix: 'sae',
  initialState: initialSaeKeysState,
  commandCodecs: saeKeysCommandCodecs,
  eventCodecs: saeKeysEventCodecs,
  targetOf: (command) => (command.type === 'RecordSaeKeyRefusal' ? command.data.saeId : command.data.masterSaeId),
  decide,
  evolve,
};

export { saeKeysCommandCodecs, saeKeysEventCodecs, initialSaeKeysState, KEYS_NOT_FOUND };
export type { SaeKeysCommand, SaeKeysEvent, SaeKeysState };
export type { SaeKey } from './state';
export { SaeId, KeyId, KeyPlace } from './fields';
