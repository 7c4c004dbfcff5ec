import * as E from 'fp-ts/Either';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  KeyDelivery,
  KeyDeliveryError,
  KeyDeliveryOperation,
  KeyDeliveryStatus,
  KeyRequest,
  SaeKey,
} from '../../../application/keydelivery/key-delivery';

// An in-memory stand-in for the key delivery service, for the HTTP layer's tests: it keeps what it
// was asked and answers like the real one in shape. It proves nothing about the service itself.

export interface Refusal {
  readonly caller: string;
  readonly pathSaeId: string;
  readonly operation: KeyDeliveryOperation;
  readonly error: KeyDeliveryError;
}

export class FakeDelivery implements KeyDelivery {
  readonly calls: { operation: KeyDeliveryOperation; caller: string; pathSaeId: string; input?: unknown }[] = [];
  readonly refusals: Refusal[] = [];
  /** Set to answer every call with this error. */
  failWith: KeyDeliveryError | undefined;
  /** Set to make every call throw, as a broken store would. */
  throwWith: Error | undefined;
  private readonly issued = new Map<string, { key: Buffer; master: string; slaves: readonly string[] }>();

  constructor(private readonly limits: Pick<KeyDeliveryStatus, 'keySize' | 'maxKeyPerRequest' | 'maxKeySize' | 'minKeySize'>) {}

  private answer<A>(value: () => A): Promise<E.Either<KeyDeliveryError, A>> {
    if (this.throwWith) return Promise.reject(this.throwWith);
    return Promise.resolve(this.failWith ? E.left(this.failWith) : E.right(value()));
  }

  status(caller: string, slaveSaeId: string) {
    this.calls.push({ operation: 'STATUS', caller, pathSaeId: slaveSaeId });
    return this.answer((): KeyDeliveryStatus => ({
      sourceKmeId: 'KME-A',
      targetKmeId: 'KME-A',
      masterSaeId: caller,
      slaveSaeId,
      storedKeyCount: 25_000,
      maxKeyCount: 100_000,
      maxSaeIdCount: 0,
      ...this.limits,
    }));
  }

  encKeys(caller: string, slaveSaeId: string, request: KeyRequest) {
    this.calls.push({ operation: 'ENC_KEYS', caller, pathSaeId: slaveSaeId, input: request });
    return this.answer((): SaeKey[] =>
      Array.from({ length: request.number ?? 1 }, () => {
        const key = { keyId: randomUUID(), key: randomBytes((request.size ?? this.limits.keySize) / 8) };
        this.issued.set(key.keyId, {
          key: key.key,
          master: caller,
          slaves: [slaveSaeId, ...(request.additionalSlaveSaeIds ?? [])],
        });
        return key;
      }),
    );
  }

  async decKeys(caller: string, masterSaeId: string, keyIds: readonly string[]) {
    this.calls.push({ operation: 'DEC_KEYS', caller, pathSaeId: masterSaeId, input: keyIds });
    const found = keyIds.map((keyId) => ({ keyId, entry: this.issued.get(keyId) }));
    const missing = found.filter(({ entry }) => entry === undefined || entry.master !== masterSaeId);
    if (missing.length > 0) {
      return E.left<KeyDeliveryError>({
        kind: 'BAD_REQUEST',
        message: 'one or more keys specified are not found on KME',
        details: missing.map(({ keyId }) => ({ key_ID: keyId })),
      });
    }
    if (found.some(({ entry }) => !entry?.slaves.includes(caller))) {
      return E.left<KeyDeliveryError>({ kind: 'UNAUTHORIZED', message: `SAE ${caller} was not named as a slave for these keys` });
    }
    return this.answer((): SaeKey[] => found.map(({ keyId, entry }) => ({ keyId, key: entry!.key })));
  }

  async refuse(caller: string, pathSaeId: string, operation: KeyDeliveryOperation, error: KeyDeliveryError) {
    this.refusals.push({ caller, pathSaeId, operation, error });
    return error;
  }
}
