import { ReadModels, ViewsStaleError, ViewsStatus } from '../application/ports/read-models';
import { lostViews, ViewReads, VIEWS_UNREACHABLE, ViewStore, ViewsLostError, ViewsUnavailableError } from '../application/ports/view-store';
import { audit, auditStats } from './audit/queries';
import { charger, chargers } from './charger/queries';
import { device, devices } from './device/queries';
import { deviceBalance, poolBalance, pools } from './key-balance/queries';
import { Projector } from './projector';
import { lowest } from './replay';

/**
 * The query port over a view store kept up to date by `projector`. Queries are answered only while
 * the views are live (ViewsStaleError otherwise, with the projector's reason), and throw
 * ViewsUnavailableError if the store cannot be reached meanwhile, InvalidQueryError for a bad
 * filter, cursor or page size.
 */
export const createReadModels = (views: ViewStore, projector: Projector): ReadModels => {
  // Reads that also prove the views still hold what the projector applied: a rebuild by another
  // process empties them before this process can hear of it.
  const reads = views.fenced(projector.projectionNames, () => projector.status().position);
  const live =
    <A extends unknown[], R>(read: (views: ViewReads, ...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const { stale, position, reason } = projector.status();
      if (stale) return Promise.reject(new ViewsStaleError(reason ?? 'the views are stale; retry shortly', position));
      return read(reads, ...args).catch((error: unknown) => {
        throw error instanceof ViewsLostError ? new ViewsStaleError(error.message, error.position) : error;
      });
    };
  return {
    device: live(device),
    devices: live(devices),
    deviceBalance: live(deviceBalance),
    poolBalance: live(poolBalance),
    pools: live(pools),
    charger: live(charger),
    chargers: live(chargers),
    audit: live(audit),
    auditStats: live(auditStats),
    status: async (): Promise<ViewsStatus> => {
      const known = projector.status();
      try {
        const stored = lowest(await views.checkpoints(projector.projectionNames));
        // Stored checkpoints below what the projector applied: the store lost views it has not noticed yet.
        const lost = stored < known.position;
        const stale = known.stale || lost;
        const reason = known.reason ?? (lost ? lostViews(stored, known.position) : undefined);
        return stale ? { position: stored, stale, reason } : { position: stored, stale };
      } catch (error) {
        if (!(error instanceof ViewsUnavailableError)) throw error;
        return { position: known.position, stale: true, reason: VIEWS_UNREACHABLE };
      }
    },
    waitFor: (position, timeoutMs) => projector.waitFor(position, timeoutMs),
  };
};
