import { SaeKeysEvent } from './events';
import { rangeKey, SaeKeysState } from './state';

export const evolve = (state: SaeKeysState, event: SaeKeysEvent): SaeKeysState => {
  switch (event.type) {
    case 'SaeKeysIssued': {
      const { slaveSaeIds, keys, requestId } = event.data;
      return {
        keys: state.keys.withMutations((all) => {
          for (const key of keys) all.set(key.keyId, { ...key, slaveSaeIds });
        }),
        waitingPerRange: state.waitingPerRange.withMutations((waiting) => {
          for (const key of keys) waiting.update(rangeKey(key.sourceId, key.rangeId), (n = 0) => n + 1);
        }),
        requests: state.requests.set(requestId, true),
      };
    }
    case 'SaeKeysDelivered': {
      const { keys, slaveSaeId } = event.data;
      return {
        ...state,
        keys: state.keys.withMutations((all) => {
          for (const key of keys) all.update(key.keyId, (k) => (k === undefined ? k : { ...k, deliveredTo: slaveSaeId }));
        }),
        waitingPerRange: state.waitingPerRange.withMutations((waiting) => {
          for (const key of keys) {
            const range = rangeKey(key.sourceId, key.rangeId);
            const left = (waiting.get(range) ?? 1) - 1;
            if (left === 0) waiting.delete(range);
            else waiting.set(range, left);
          }
        }),
      };
    }
    case 'SaeKeyRequestRefused':
      return state;
  }
};
