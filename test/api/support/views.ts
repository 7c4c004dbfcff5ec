import { EventStore } from '../../../application/ports/event-store';
import { ReadModels } from '../../../application/ports/read-models';
import { MemoryViewStore } from '../../../infrastructure/read-models/memory-view-store';
import { Projector } from '../../../read-models/projector';
import { createReadModels } from '../../../read-models/read-models';

export interface Views {
  readonly readModels: ReadModels;
  readonly projector: Projector;
  close(): Promise<void>;
}

/** The in-memory read models, kept up to date by the real projector. */
export const startViews = async (store: EventStore): Promise<Views> => {
  const viewStore = new MemoryViewStore();
  const projector = new Projector(store, viewStore);
  projector.start();
  return {
    readModels: createReadModels(viewStore, projector),
    projector,
    close: async () => {
      await projector.stop();
      await viewStore.close();
    },
  };
};
