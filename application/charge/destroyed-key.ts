import * as E from 'fp-ts/Either';
import { chargeAggregate } from '../../domain/charge';
import { Actor } from '../command-envelope';
import { CommandBus } from '../command-bus';
import { CommandError } from '../errors';

/**
 * Fails the open charge that delivered a range since destroyed: that key can never be charged, and
 * the charge's count of delivered bytes can never be undone. One command id per range, so whoever
 * sees the destruction first (the delivery whose next step was refused, the key custody following
 * the log after a restart) records the failure and the other gets its receipt.
 */
export const failChargeOfDestroyedRange = async (
  bus: CommandBus,
  actor: Actor,
  chargeId: string,
  rangeId: string,
): Promise<E.Either<CommandError, unknown>> => {
  const loaded = await bus.load(chargeAggregate, chargeId);
  if (E.isLeft(loaded)) return loaded;
  const charge = loaded.right.state;
  const open = charge.status === 'STARTED' || charge.status === 'DEVICE_VERIFIED' || charge.status === 'KEYS_DELIVERED';
  if (!open || !charge.ranges.some((range) => range.rangeId === rangeId)) return E.right(undefined);
  const failed = await bus.execute(
    { commandId: `charge-key-destroyed-${rangeId}`, actor },
    { type: 'FailCharge', data: { chargeId, reason: 'DELIVERED_KEY_DESTROYED' } },
  );
  // Refused only when the charge became final meanwhile (completed or failed by another step).
  return E.isLeft(failed) && failed.left.code === 'INVALID_STATE' ? E.right(undefined) : failed;
};
