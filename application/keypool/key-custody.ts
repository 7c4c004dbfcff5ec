import * as E from 'fp-ts/Either';
import { keyPoolAggregate, KeyRange, rangeOf, RangeStatus } from '../../domain/keypool';
import { KeyPlace } from '../../domain/saekeys';
import { failChargeOfDestroyedRange } from '../charge/destroyed-key';
import { Actor } from '../command-envelope';
import { CommandBus } from '../command-bus';
import { CommandError } from '../errors';
import { EventStore, RecordedEvent, Subscription } from '../ports/event-store';
import { KeyPool } from './key-pool';

const SYSTEM: Actor = { id: 'key-custody', role: 'SYSTEM' };

type Reaction = { readonly from: RangeStatus; readonly act: (sourceId: string, range: KeyRange, cause: RecordedEvent) => Promise<E.Either<CommandError, unknown>> };

/**
 * Keys follow what happens to whoever holds them (DESIGN.md's key range states and invariant 1):
 * - a charge that failed: every range it delivered is destroyed, never released;
 * - a range destroyed while the charge that delivered it is open (a restart's recovery destroys a
 *   delivery that never finished): the charge fails, so it can never be completed for that key;
 * - a device reported lost or frozen: its keys are frozen (suspended), and restored with it;
 * - a device destroyed: its keys are destroyed;
 * - a key delivered to its slave SAE: its bytes are shredded, and a range whose keys are all gone is
 *   consumed. Key delivery does this itself; following the log finishes what a crash interrupted;
 * - a range destroyed or consumed: its bytes are shredded if they are still in the vault. The pool
 *   shreds before it records, but a command sent straight to the bus (an admin's destroyKeyRange, a
 *   gateway's consumeKeyRange) only records.
 * It follows the log from the start at every start. A cause touches the ranges issued to the device
 * before it, in the state they are in now; command ids derive from the cause, so a cause replayed
 * after a restart is answered from the log and appends nothing, and one never handled is handled late.
 */
export const followKeyCustody = (store: EventStore, bus: CommandBus, pool: KeyPool, onError: (error: Error) => void): Subscription => {
  /** Per holder, the ranges issued to it so far: what a device held when a cause came. */
  const issued = new Map<string, { sourceId: string; rangeId: string }[]>();
  const freeze: Reaction = {
    from: 'ISSUED',
    act: (sourceId, { rangeId }, cause) => pool.freeze(SYSTEM, sourceId, rangeId, `its device: ${cause.type}`, `freeze-${cause.id}-${rangeId}`),
  };
  const restore: Reaction = {
    from: 'FROZEN',
    act: (sourceId, { rangeId }, cause) => pool.restore(SYSTEM, sourceId, rangeId, `restore-${cause.id}-${rangeId}`),
  };
  const destroy = (from: RangeStatus): Reaction => ({
    from,
    act: (sourceId, { rangeId }, cause) => pool.destroy(SYSTEM, sourceId, rangeId, `its holder: ${cause.type}`),
  });
  const byDevice: Record<string, readonly Reaction[]> = {
    DeviceReportedLost: [freeze],
    DeviceFrozen: [freeze],
    DeviceLossCancelled: [restore],
    DeviceRestored: [restore],
    DeviceDestroyed: [destroy('ISSUED'), destroy('FROZEN')],
  };

  const report = (cause: RecordedEvent, rangeId: string, outcome: E.Either<CommandError, unknown>): void => {
    if (E.isLeft(outcome)) onError(new Error(`${cause.type} at ${cause.position}: range ${rangeId}: ${outcome.left.message}`));
  };

  return store.subscribe({
    onEvent: async (recorded) => {
      const data = recorded.data as Record<string, unknown>;
      if (recorded.type === 'KeyRangeIssued') {
        const holder = data.deviceSerial as string;
        const list = issued.get(holder) ?? [];
        list.push({ sourceId: data.sourceId as string, rangeId: data.rangeId as string });
        issued.set(holder, list);
      }
      if (recorded.type === 'ChargeFailed') {
        for (const { sourceId, rangeId } of data.rangesToDestroy as { sourceId: string; rangeId: string }[]) {
          const loaded = await bus.load(keyPoolAggregate, sourceId);
          if (E.isLeft(loaded) || rangeOf(loaded.right.state, rangeId)?.status === 'DESTROYED') continue;
          report(recorded, rangeId, await pool.destroy(SYSTEM, sourceId, rangeId, `delivered by charge ${data.chargeId as string}, which failed`));
        }
      }
      if (recorded.type === 'KeyRangeDestroyed' || recorded.type === 'KeyRangeConsumed') {
        const { sourceId, offset, length } = data as { sourceId: string; offset: number; length: number };
        if (await pool.holds(sourceId, offset, length)) await pool.shred(sourceId, offset, length);
      }
      if (recorded.type === 'KeyRangeDestroyed') {
        const { sourceId, rangeId } = data as { sourceId: string; rangeId: string };
        const loaded = await bus.load(keyPoolAggregate, sourceId);
        const reservedFor = E.isRight(loaded) ? rangeOf(loaded.right.state, rangeId)?.chargeId : undefined;
        if (reservedFor !== undefined) report(recorded, rangeId, await failChargeOfDestroyedRange(bus, SYSTEM, reservedFor, rangeId));
      }
      if (recorded.type === 'SaeKeysDelivered') {
        const { keys, rangesDone } = data as { keys: KeyPlace[]; rangesDone: { sourceId: string; rangeId: string }[] };
        for (const { sourceId, offset, length } of keys) if (await pool.holds(sourceId, offset, length)) await pool.shred(sourceId, offset, length);
        for (const { sourceId, rangeId } of rangesDone) {
          const loaded = await bus.load(keyPoolAggregate, sourceId);
          if (E.isRight(loaded) && rangeOf(loaded.right.state, rangeId)?.status === 'ISSUED') {
            report(recorded, rangeId, await pool.consume(SYSTEM, sourceId, rangeId));
          }
        }
      }
      const reactions = byDevice[recorded.type];
      if (reactions === undefined) return;
      const held = issued.get(data.serial as string) ?? [];
      for (const sourceId of new Set(held.map((h) => h.sourceId))) {
        const loaded = await bus.load(keyPoolAggregate, sourceId);
        if (E.isLeft(loaded)) continue;
        const ranges = held.filter((h) => h.sourceId === sourceId).map((h) => rangeOf(loaded.right.state, h.rangeId)!);
        for (const reaction of reactions) {
          for (const range of ranges.filter((r) => r.status === reaction.from)) report(recorded, range.rangeId, await reaction.act(sourceId, range, recorded));
        }
      }
    },
    onError,
  });
};
