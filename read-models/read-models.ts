import { ReadModels, ViewsStatus } from '../application/ports/read-models';
import { ViewStore, ViewsUnavailableError } from '../application/ports/view-store';
import { audit, auditStats } from './audit/queries';
import { charger, chargers } from './charger/queries';
import { device, devices } from './device/queries';
import { deviceBalance, poolBalance, pools } from './key-balance/queries';
import { Projector } from './projector';

/**
 * The query port over a view store kept up to date by `projector`. Queries throw
 * ViewsUnavailableError while the store is unreachable and InvalidQueryError for a bad filter,
 * cursor or page size.
 */
export const createReadModels = (views: ViewStore, projector: Projector): ReadModels => ({
  device: (serial) => device(views, serial),
  devices: (filter, page) => devices(views, filter, page),
  deviceBalance: (serial) => deviceBalance(views, serial),
  poolBalance: (sourceId) => poolBalance(views, sourceId),
  pools: () => pools(views),
  charger: (chargerId) => charger(views, chargerId),
  chargers: (page) => chargers(views, page),
  audit: (filter, page) => audit(views, filter, page),
  auditStats: (filter, top) => auditStats(views, filter, top),
  status: async (): Promise<ViewsStatus> => {
    const known = projector.status();
    try {
      const stored = Math.min(...Object.values(await views.checkpoints(projector.projectionNames)));
      // Stored checkpoints below what the projector applied: the store lost views it has not noticed yet.
      const lost = stored < known.position;
      const stale = known.stale || lost;
      const reason = known.reason ?? (lost ? 'the view store lost views; they are being rebuilt from the log' : undefined);
      return stale ? { position: stored, stale, reason } : { position: stored, stale };
    } catch (error) {
      if (!(error instanceof ViewsUnavailableError)) throw error;
      return { position: known.position, stale: true, reason: error.message };
    }
  },
  waitFor: (position, timeoutMs) => projector.waitFor(position, timeoutMs),
});
