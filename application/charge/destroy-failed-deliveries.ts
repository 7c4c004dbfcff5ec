import * as E from 'fp-ts/Either';
import { keyPoolAggregate } from '../../domain/keypool';
import { Actor } from '../command-envelope';
import { CommandBus } from '../command-bus';
import { EventStore, Subscription } from '../ports/event-store';
import { KeyPool } from '../keypool/key-pool';

const SYSTEM: Actor = { id: 'charge-failures', role: 'SYSTEM' };

/**
 * Invariant 1's second half: key that left the platform in a charge that failed is destroyed. Every
 * ChargeFailed lists what it delivered; this follows the log and shreds those ranges. It starts from
 * the beginning each time: ranges already destroyed are skipped, so a restart redoes nothing.
 */
export const destroyFailedDeliveries = (
  store: EventStore,
  bus: CommandBus,
  pool: KeyPool,
  onError: (error: Error) => void,
): Subscription =>
  store.subscribe({
    onEvent: async (recorded) => {
      if (recorded.type !== 'ChargeFailed') return;
      const { chargeId, rangesToDestroy } = recorded.data as { chargeId: string; rangesToDestroy: { sourceId: string; rangeId: string }[] };
      for (const { sourceId, rangeId } of rangesToDestroy) {
        const loaded = await bus.load(keyPoolAggregate, sourceId);
        if (E.isLeft(loaded) || loaded.right.state.ranges.get(rangeId)?.status === 'DESTROYED') continue;
        const destroyed = await pool.destroy(SYSTEM, sourceId, rangeId, `delivered by charge ${chargeId}, which failed`);
        if (E.isLeft(destroyed)) onError(new Error(`could not destroy range ${rangeId} of failed charge ${chargeId}: ${destroyed.left.message}`));
      }
    },
    onError,
  });
