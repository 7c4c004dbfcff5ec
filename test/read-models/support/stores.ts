import { ViewStore } from '../../../application/ports/view-store';
import { MemoryViewStore } from '../../../infrastructure/read-models/memory-view-store';
import { RedisViewStore } from '../../../infrastructure/read-models/redis-view-store';
import { REDIS_URL, testNamespace } from './redis';

export interface StoreKind {
  readonly name: string;
  /** A fresh, empty view store under a namespace of its own. */
  open(file: string): Promise<ViewStore>;
}

export const memoryStores: StoreKind = { name: 'memory', open: async () => new MemoryViewStore() };

export const redisStores: StoreKind = {
  name: 'Redis',
  open: async (file) => {
    const store = RedisViewStore.open(REDIS_URL, testNamespace(file));
    if (!(await store.ready(5000))) throw new Error(`Redis at ${REDIS_URL} is not reachable; start it (see .ci/run)`);
    return store;
  },
};

export const bothStores = [memoryStores, redisStores];

/** Drops what the test wrote and closes the store. */
export const discard = async (store: ViewStore): Promise<void> => {
  await store.drop();
  await store.close();
};
