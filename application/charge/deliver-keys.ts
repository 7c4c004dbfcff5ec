import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { chargeAggregate, MAX_DELIVERY_BYTES } from '../../domain/charge';
import { invalidInput, invalidState, notFound } from '../../domain/shared/errors';
import { Actor } from '../command-envelope';
import { CommandBus, CommandResult } from '../command-bus';
import { CommandError } from '../errors';
import { SaeKey } from '../keydelivery/key-delivery';
import { KeyPool } from '../keypool/key-pool';
import { failChargeOfDestroyedRange } from './destroyed-key';

export interface DeliveredChargeKeys {
  readonly chargeId: string;
  readonly rangeId: string;
  /** Bytes of this charge delivered so far, this delivery included. */
  readonly delivered: number;
  readonly remaining: number;
  /** The keys to write to the device, each with the key ID a gateway will ask for. */
  readonly keys: readonly SaeKey[];
  /** Log position of the last event written. */
  readonly position: number;
}

/**
 * The kiosk's step 3.4: the next `bytes` bytes of a verified charge. The range is reserved, read
 * from the vault, recorded as delivered (with a keyed commitment), split into keys the device will
 * use as a master SAE named by its serial, and issued to the device last: a range still RESERVED
 * is a delivery that never finished, wherever it stopped. A refusal after the reservation destroys
 * the range (key that may have left the platform never returns to the pool), and a charge that
 * counted it as delivered fails; so does a restart's recovery, through the key custody.
 */
export const deliverChargeKeys = async (
  bus: CommandBus,
  pool: KeyPool,
  actor: Actor,
  chargeId: string,
  /** How many bytes to deliver now (the kiosk's input `bytes`). */
  bytes: number,
  keyBytes: number,
  /** The range's id; a caller that authorizes the reservation first names it. */
  rangeId = `r-${randomUUID()}`,
  /** The caller's check, made again in the turns of the reservation and the delivery. */
  admit?: () => Promise<void>,
): Promise<E.Either<CommandError, DeliveredChargeKeys>> => {
  const loaded = await bus.load(chargeAggregate, chargeId);
  if (E.isLeft(loaded)) return loaded;
  const charge = loaded.right.state;
  if (charge.status === 'NONE') return E.left(notFound('charge', chargeId, 'start it first'));
  if (charge.status !== 'DEVICE_VERIFIED' && charge.status !== 'KEYS_DELIVERED') {
    const hint = charge.status === 'STARTED' ? 'verify the device first' : 'a finished charge is final; start a new charge';
    return E.left(invalidState('charge', chargeId, charge.status, 'deliver keys to', hint));
  }
  const remaining = charge.bytes - charge.delivered;
  if (remaining === 0) {
    const hint = `all ${charge.bytes} bytes it asked for are delivered; complete it once the device has stored them, or fail it if it has not`;
    return E.left(invalidState('charge', chargeId, charge.status, 'deliver more keys to', hint));
  }
  const most = Math.min(remaining, MAX_DELIVERY_BYTES);
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > most) {
    const why = most === remaining ? 'the bytes this charge still needs' : `at most ${MAX_DELIVERY_BYTES} a call; call again for the rest`;
    return E.left(invalidInput([{ field: 'bytes', rule: `must be a whole number from 1 to ${most}, ${why}` }]));
  }
  const taken = await pool.take(actor, charge.sourceId, rangeId, bytes, chargeId, admit);
  if (E.isLeft(taken)) return taken;
  const { sourceId, offset, material } = taken.right;
  const keys = Array.from({ length: Math.ceil(bytes / keyBytes) }, (_, i) => ({
    keyId: randomUUID(),
    sourceId,
    rangeId,
    offset: offset + i * keyBytes,
    length: Math.min(keyBytes, bytes - i * keyBytes),
  }));
  const commitment = pool.commitment(`${sourceId}/${rangeId}`, material);
  // A destruction that fails leaves the range RESERVED, which the server's sweep destroys within two minutes.
  const destroy = (why: string) => pool.destroy(actor, sourceId, rangeId, `delivery to charge ${chargeId} ${why}`);
  let delivery: E.Either<CommandError, CommandResult>;
  try {
    delivery = await bus.execute(
      { commandId: `deliver-${rangeId}`, actor },
      { type: 'DeliverChargeKeys', data: { chargeId, sourceId, rangeId, offset, length: bytes, commitment } },
      admit,
    );
  } catch (refused) {
    // Refused in its turn: the reserved range never leaves the platform, and the refusal is what the caller hears.
    await destroy('was refused in its turn').catch(() => undefined);
    throw refused;
  }
  if (E.isLeft(delivery)) {
    await destroy(`was refused: ${delivery.left.code}`);
    return delivery;
  }
  const [recorded] = delivery.right.events;
  if (recorded.type === 'ChargeFailed') {
    const { reason } = recorded.data as { reason: string };
    await destroy(`found it failed: ${reason}`);
    const hint = `it failed (${reason}) and every key it delivered is destroyed; start a new charge`;
    return E.left(invalidState('charge', chargeId, 'FAILED', 'deliver keys to', hint));
  }
  const steps = [
    () =>
      bus.execute(
        { commandId: `keys-${rangeId}`, actor },
        { type: 'IssueSaeKeys', data: { masterSaeId: charge.deviceSerial, slaveSaeIds: [], requestId: rangeId, keys } },
      ),
    () => pool.issue(actor, sourceId, rangeId, charge.deviceSerial),
  ];
  let position = delivery.right.position;
  for (const step of steps) {
    const done = await step();
    if (E.isLeft(done)) {
      // The charge counts the range as delivered, and the kiosk got none of it: the charge fails.
      await destroy(`was refused: ${done.left.code}`);
      await failChargeOfDestroyedRange(bus, actor, chargeId, rangeId);
      return done;
    }
    position = done.right.position;
  }
  return E.right({
    chargeId,
    rangeId,
    delivered: charge.delivered + bytes,
    remaining: remaining - bytes,
    keys: keys.map((k) => ({ keyId: k.keyId, key: material.subarray(k.offset - offset, k.offset - offset + k.length) })),
    position,
  });
};

/** Charge key delivery as the API sees it: the pool a charge draws from, and the delivery itself. */
export interface ChargeKeyDelivery {
  /** The key pool a charge draws from; undefined for a charge that does not exist. */
  sourceOf(chargeId: string): Promise<string | undefined>;
  deliver(
    actor: Actor,
    chargeId: string,
    bytes: number,
    rangeId: string,
    admit?: () => Promise<void>,
  ): Promise<E.Either<CommandError, DeliveredChargeKeys>>;
}

/** Keys of `keyBytes` bytes (32: AES-256), the last one shorter when the delivery is not a multiple. */
export const chargeKeyDelivery = (bus: CommandBus, pool: KeyPool, keyBytes = 32): ChargeKeyDelivery => ({
  sourceOf: async (chargeId) => {
    const loaded = await bus.load(chargeAggregate, chargeId);
    return E.isRight(loaded) && loaded.right.state.status !== 'NONE' ? loaded.right.state.sourceId : undefined;
  },
  deliver: (actor, chargeId, bytes, rangeId, admit) => deliverChargeKeys(bus, pool, actor, chargeId, bytes, keyBytes, rangeId, admit),
});
