import { EventStore } from '../../../application/ports/event-store';
import { DumpedValue, ViewStore } from '../../../application/ports/view-store';
import { MemoryViewStore } from '../../../infrastructure/read-models/memory-view-store';
import { allProjections } from '../../../read-models/projections';
import { catchUp } from '../../../read-models/replay';

/** A store's content as a plain object in key order, comparable across stores. */
export const contentOf = async (views: ViewStore): Promise<Record<string, DumpedValue>> =>
  Object.fromEntries([...(await views.dump())].sort(([a], [b]) => (a < b ? -1 : 1)));

/** What one clean replay of the whole log into fresh memory gives: the reference views. */
export const cleanReplay = async (store: EventStore): Promise<Record<string, DumpedValue>> => {
  const views = new MemoryViewStore();
  await catchUp(store, views, { projections: allProjections });
  return contentOf(views);
};

/** Polls `check` until it holds or `timeoutMs` passes. */
export const eventually = async (check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
