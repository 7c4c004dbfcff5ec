import { isDeepStrictEqual } from 'node:util';
import { EventStore } from '../application/ports/event-store';
import { DumpedValue, ViewStore } from '../application/ports/view-store';
import { Projection } from './projection';
import { allProjections, projectionNames } from './projections';
import { catchUp, lowest } from './replay';

export interface RebuildOptions {
  readonly projections?: readonly Projection[];
  readonly batchSize?: number;
}

/**
 * Deletes every view under the store's namespace and replays the whole log into it. A projector
 * running meanwhile notices that its views went back and catches up with them; no event counts twice.
 * Returns the position the views reached.
 */
export const rebuildViews = async (store: EventStore, views: ViewStore, options: RebuildOptions = {}): Promise<number> => {
  await views.drop();
  const projections = options.projections ?? allProjections;
  return lowest(await catchUp(store, views, { projections, batchSize: options.batchSize }));
};

export interface ViewDifference {
  readonly key: string;
  /** The live content; null when the key is missing from the live views. */
  readonly live: DumpedValue | null;
  /** What replaying the log gives; null when the replay has no such key. */
  readonly rebuilt: DumpedValue | null;
}

export interface CheckResult {
  /** Each projection's checkpoint that was checked. */
  readonly checkpoints: Readonly<Record<string, number>>;
  readonly differences: readonly ViewDifference[];
}

const CHECK_ATTEMPTS = 3;

const differences = (live: Map<string, DumpedValue>, rebuilt: Map<string, DumpedValue>): ViewDifference[] =>
  [...new Set([...live.keys(), ...rebuilt.keys()])]
    .sort()
    .filter((key) => !isDeepStrictEqual(live.get(key), rebuilt.get(key)))
    .map((key) => ({ key, live: live.get(key) ?? null, rebuilt: rebuilt.get(key) ?? null }));

/**
 * Replays the log into a scratch namespace, each projection up to the checkpoint of its live
 * views, and lists every key whose content differs; the scratch namespace is dropped afterwards.
 * Views that move while they are compared are compared again; after three attempts the check
 * gives up and says so.
 */
export const checkViews = async (store: EventStore, views: ViewStore, options: RebuildOptions = {}): Promise<CheckResult> => {
  const projections = options.projections ?? allProjections;
  const names = projectionNames(projections);
  for (let attempt = 1; attempt <= CHECK_ATTEMPTS; attempt++) {
    const checkpoints = await views.checkpoints(names);
    const scratch = views.scratch();
    try {
      await catchUp(store, scratch, { projections, batchSize: options.batchSize, limits: checkpoints });
      const [live, rebuilt] = [await views.dump(), await scratch.dump()];
      if (isDeepStrictEqual(await views.checkpoints(names), checkpoints)) {
        return { checkpoints, differences: differences(live, rebuilt) };
      }
    } finally {
      await scratch.drop();
      await scratch.close();
    }
  }
  throw new Error(
    `the views under ${views.namespace} kept changing during ${CHECK_ATTEMPTS} checks; ` +
      'check again when fewer commands are arriving, or stop the projector first',
  );
};
