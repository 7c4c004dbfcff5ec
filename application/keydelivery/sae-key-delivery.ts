import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { deviceAggregate } from '../../domain/device';
import { principalAggregate } from '../../domain/principal';
import { KEYS_NOT_FOUND, SaeId, saeKeysAggregate } from '../../domain/saekeys';
import { Actor } from '../command-envelope';
import { CommandBus } from '../command-bus';
import { CommandError } from '../errors';
import { KeyPool } from '../keypool/key-pool';
import {
  KeyDelivery,
  KeyDeliveryError,
  KeyDeliveryOperation,
  KeyDeliveryStatus,
  KeyRequest,
  SaeKey,
  STATUS_OF,
} from './key-delivery';

export interface KeyDeliveryLimits {
  /** Bits. */
  readonly keySize: number;
  readonly minKeySize: number;
  readonly maxKeySize: number;
  readonly maxKeyPerRequest: number;
  readonly maxSaeIdCount: number;
}

export const DEFAULT_LIMITS: KeyDeliveryLimits = { keySize: 256, minKeySize: 64, maxKeySize: 8192, maxKeyPerRequest: 128, maxSaeIdCount: 4 };

const bad = (message: string, details?: KeyDeliveryError['details']): KeyDeliveryError => ({ kind: 'BAD_REQUEST', message, ...(details && { details }) });
const unauthorized = (message: string): KeyDeliveryError => ({ kind: 'UNAUTHORIZED', message });
const unavailable = (message: string, details?: KeyDeliveryError['details']): KeyDeliveryError => ({ kind: 'UNAVAILABLE', message, ...(details && { details }) });

/** A store outage or a lost race is the platform's trouble, not the request's: 503, try again. */
const fromCommand = (error: CommandError): KeyDeliveryError =>
  error.code === 'INSUFFICIENT_KEY'
    ? unavailable(`keys are not available: ${error.message}`)
    : error.code === 'CONFLICT' || error.code === 'STORE_UNAVAILABLE'
      ? unavailable(`the key store is busy or unavailable (${error.code}); retry the request`)
      : bad(error.message);

/**
 * ETSI GS QKD 014 key delivery over the key pool. Keys of one Get key request are slices of one
 * range, issued to the master; a key reaches each slave once and is shredded once its slave has
 * it; a range whose every key is gone is consumed. Every refusal is recorded for the audit.
 */
export class SaeKeyDelivery implements KeyDelivery {
  constructor(
    private readonly bus: CommandBus,
    private readonly pool: KeyPool,
    private readonly sourceId: string,
    private readonly kmeId: string,
    private readonly limits: KeyDeliveryLimits = DEFAULT_LIMITS,
  ) {}

  async status(caller: string, slave: string): Promise<E.Either<KeyDeliveryError, KeyDeliveryStatus>> {
    const checked = await this.checkPair(caller, slave, 'STATUS');
    if (E.isLeft(checked)) return checked;
    const pool = await this.pool.state(this.sourceId);
    if (E.isLeft(pool)) return this.refused(caller, slave, 'STATUS', fromCommand(pool.left));
    const stored = Math.floor(pool.right.state.balance.available / (this.limits.keySize / 8));
    return E.right({
      sourceKmeId: this.kmeId,
      targetKmeId: this.kmeId,
      masterSaeId: caller,
      slaveSaeId: slave,
      keySize: this.limits.keySize,
      storedKeyCount: stored,
      maxKeyCount: stored,
      maxKeyPerRequest: this.limits.maxKeyPerRequest,
      maxKeySize: this.limits.maxKeySize,
      minKeySize: this.limits.minKeySize,
      maxSaeIdCount: this.limits.maxSaeIdCount,
    });
  }

  async encKeys(caller: string, slave: string, request: KeyRequest): Promise<E.Either<KeyDeliveryError, SaeKey[]>> {
    const checked = await this.checkPair(caller, slave, 'ENC_KEYS');
    if (E.isLeft(checked)) return checked;
    const invalid = this.checkRequest(caller, slave, request);
    if (invalid !== undefined) return this.refused(caller, slave, 'ENC_KEYS', invalid);
    for (const additional of request.additionalSlaveSaeIds ?? []) {
      const registered = await this.gateway(additional);
      if (registered !== undefined) return this.refused(caller, slave, 'ENC_KEYS', bad(`additional_slave_SAE_IDs: ${registered}`));
    }
    const number = request.number ?? 1;
    const bytes = (request.size ?? this.limits.keySize) / 8;
    const actor: Actor = { id: caller, role: 'GATEWAY' };
    const requestId = `etsi-${randomUUID()}`;
    const taken = await this.pool.take(actor, this.sourceId, requestId, number * bytes, requestId);
    if (E.isLeft(taken)) return this.refused(caller, slave, 'ENC_KEYS', fromCommand(taken.left));
    const { offset, material } = taken.right;
    const keys = Array.from({ length: number }, (_, i) => ({
      keyId: randomUUID(),
      sourceId: this.sourceId,
      rangeId: requestId,
      offset: offset + i * bytes,
      length: bytes,
    }));
    const slaves = [slave, ...(request.additionalSlaveSaeIds ?? [])];
    const recorded = await this.bus.execute(
      { commandId: `keys-${requestId}`, actor },
      { type: 'IssueSaeKeys', data: { masterSaeId: caller, slaveSaeIds: slaves, requestId, keys } },
    );
    const issued = E.isLeft(recorded) ? recorded : await this.pool.issue(actor, this.sourceId, requestId, caller);
    if (E.isLeft(issued)) {
      await this.pool.destroy(actor, this.sourceId, requestId, 'the key request could not be recorded');
      return this.refused(caller, slave, 'ENC_KEYS', fromCommand(issued.left));
    }
    return E.right(keys.map((k, i) => ({ keyId: k.keyId, key: material.subarray(i * bytes, (i + 1) * bytes) })));
  }

  async decKeys(caller: string, master: string, keyIds: readonly string[]): Promise<E.Either<KeyDeliveryError, SaeKey[]>> {
    const refuse = (error: KeyDeliveryError) => this.refused(caller, master, 'DEC_KEYS', error);
    const callerProblem = await this.gateway(caller);
    if (callerProblem !== undefined) return refuse(unauthorized(callerProblem));
    if (!SaeId.is(master)) return refuse(bad(`master_SAE_ID: must be ${SaeId.name}`));
    if (keyIds.length === 0 || keyIds.length > this.limits.maxKeyPerRequest) {
      return refuse(bad(`key_IDs: must list 1 to ${this.limits.maxKeyPerRequest} key IDs`));
    }
    const held = await this.bus.load(saeKeysAggregate, master);
    if (E.isLeft(held)) return refuse(fromCommand(held.left));
    const keys = keyIds.map((id) => held.right.state.keys.get(id));
    const unknown = keyIds.filter((_id, i) => keys[i] === undefined || keys[i]!.deliveredTo !== undefined);
    if (unknown.length > 0) return refuse(bad(KEYS_NOT_FOUND, unknown.map((key_ID) => ({ key_ID }))));
    // A device's keys (no named slave) are suspended while the device is not ACTIVE.
    if (keys.some((k) => k!.slaveSaeIds.length === 0)) {
      const device = await this.bus.load(deviceAggregate, master);
      if (E.isLeft(device)) return refuse(fromCommand(device.left));
      const { status } = device.right.state;
      if (status !== 'ACTIVE') return refuse(unauthorized(`the keys of device ${master} are suspended while it is ${status}`));
    }
    let material: Buffer[];
    try {
      material = await Promise.all(keys.map((k) => this.pool.read(k!.sourceId, k!.offset, k!.length)));
    } catch (error) {
      return refuse(bad(`${KEYS_NOT_FOUND}: ${(error as Error).name}`, keyIds.map((key_ID) => ({ key_ID }))));
    }
    const actor: Actor = { id: caller, role: 'GATEWAY' };
    const delivered = await this.bus.execute(
      { commandId: `deliver-${randomUUID()}`, actor },
      { type: 'DeliverSaeKeys', data: { masterSaeId: master, slaveSaeId: caller, keyIds } },
    );
    if (E.isLeft(delivered)) {
      const error = delivered.left;
      if (error.code === 'INVALID_STATE') return refuse(unauthorized(error.message));
      if (error.code === 'NOT_FOUND') return refuse(bad(KEYS_NOT_FOUND, keyIds.map((key_ID) => ({ key_ID }))));
      return refuse(fromCommand(error));
    }
    // Delivered to its slave: the key leaves the vault now; a range whose keys are all gone is consumed.
    for (const k of keys) await this.pool.shred(k!.sourceId, k!.offset, k!.length);
    const { rangesDone } = delivered.right.events[0].data as { rangesDone: readonly { sourceId: string; rangeId: string }[] };
    for (const { sourceId, rangeId } of rangesDone) await this.pool.consume({ id: caller, role: 'GATEWAY' }, sourceId, rangeId);
    return E.right(keys.map((k, i) => ({ keyId: k!.keyId, key: material[i] })));
  }

  async refuse(caller: string, pathSaeId: string, operation: KeyDeliveryOperation, error: KeyDeliveryError): Promise<KeyDeliveryError> {
    const saeId = SaeId.is(pathSaeId) ? pathSaeId : caller;
    const status = STATUS_OF[error.kind];
    // The audit must show the refusal; if even that cannot be written, the caller still gets its answer.
    await this.bus.execute(
      { commandId: `refusal-${randomUUID()}`, actor: { id: SaeId.is(caller) ? caller : 'unknown-sae', role: 'GATEWAY' } },
      {
        type: 'RecordSaeKeyRefusal',
        data: { saeId, callerSaeId: SaeId.is(caller) ? caller : saeId, operation, status, reason: error.message.slice(0, 200) },
      },
    );
    return error;
  }

  private async refused(caller: string, path: string, operation: KeyDeliveryOperation, error: KeyDeliveryError): Promise<E.Either<KeyDeliveryError, never>> {
    return E.left(await this.refuse(caller, path, operation, error));
  }

  /** Why `saeId` may not take part, or undefined: it must be an active GATEWAY principal. */
  private async gateway(saeId: string): Promise<string | undefined> {
    if (!SaeId.is(saeId)) return `${saeId} is not an SAE id: must be ${SaeId.name}`;
    const principal = await this.bus.load(principalAggregate, saeId);
    if (E.isLeft(principal)) return `SAE ${saeId} could not be checked: ${principal.left.code}`;
    const { status, role } = principal.right.state;
    if (status !== 'ACTIVE' || role !== 'GATEWAY') {
      return `SAE ${saeId} is not a registered SAE of this KME${status === 'REVOKED' ? ' (revoked)' : ''}; register it with qkmp sae register`;
    }
    return undefined;
  }

  /** The caller must be a registered SAE (401), the slave too (400). */
  private async checkPair(caller: string, slave: string, operation: KeyDeliveryOperation): Promise<E.Either<KeyDeliveryError, void>> {
    const callerProblem = await this.gateway(caller);
    if (callerProblem !== undefined) return this.refused(caller, slave, operation, unauthorized(callerProblem));
    const slaveProblem = await this.gateway(slave);
    if (slaveProblem !== undefined) return this.refused(caller, slave, operation, bad(`slave_SAE_ID: ${slaveProblem}`));
    if (slave === caller) return this.refused(caller, slave, operation, bad('slave_SAE_ID: must name another SAE than the caller'));
    return E.right(undefined);
  }

  private checkRequest(caller: string, slave: string, request: KeyRequest): KeyDeliveryError | undefined {
    const { number = 1, size = this.limits.keySize, additionalSlaveSaeIds = [] } = request;
    const { minKeySize, maxKeySize, maxKeyPerRequest, maxSaeIdCount } = this.limits;
    if (!Number.isSafeInteger(number) || number < 1 || number > maxKeyPerRequest) {
      return bad(`number: must be a whole number from 1 to max_key_per_request (${maxKeyPerRequest})`, [{ number }]);
    }
    if (!Number.isSafeInteger(size) || size % 8 !== 0) return bad('size shall be a multiple of 8', [{ size }]);
    if (size < minKeySize || size > maxKeySize) return bad(`size: must be from min_key_size (${minKeySize}) to max_key_size (${maxKeySize}) bits`, [{ size }]);
    if (additionalSlaveSaeIds.length > maxSaeIdCount) {
      return bad(`additional_slave_SAE_IDs: at most max_SAE_ID_count (${maxSaeIdCount}) SAE ids`);
    }
    const all = [slave, ...additionalSlaveSaeIds];
    if (all.includes(caller) || new Set(all).size !== all.length) {
      return bad('additional_slave_SAE_IDs: must not repeat the slave or name the caller');
    }
    return undefined;
  }
}
