import { Either } from 'fp-ts/Either';

// The key delivery service that the ETSI GS QKD 014 interface serves. SAE ids come from the calling
// SAE's client certificate, never from the request; the HTTP layer maps these answers to 200/400/401/503.

export interface SaeKey {
  /** A UUID. */
  readonly keyId: string;
  readonly key: Buffer;
}

export type KeyDeliveryErrorKind = 'BAD_REQUEST' | 'UNAUTHORIZED' | 'UNAVAILABLE';

/** The HTTP status each kind is answered with, and recorded under in the audit. */
export const STATUS_OF: Readonly<Record<KeyDeliveryErrorKind, 400 | 401 | 503>> = { BAD_REQUEST: 400, UNAUTHORIZED: 401, UNAVAILABLE: 503 };

export interface KeyDeliveryError {
  /** Answered with STATUS_OF[kind]. */
  readonly kind: KeyDeliveryErrorKind;
  /** The standard's message where it fixes one, otherwise what went wrong and what to do. */
  readonly message: string;
  /** ETSI 014 `details`: a list of one-entry objects, for example [{ key_ID: '...' }]. */
  readonly details?: readonly Readonly<Record<string, unknown>>[];
}

/** ETSI GS QKD 014 Status, in the platform's words (the HTTP layer renames to the standard's fields). */
export interface KeyDeliveryStatus {
  readonly sourceKmeId: string;
  readonly targetKmeId: string;
  readonly masterSaeId: string;
  readonly slaveSaeId: string;
  /** Bits. */
  readonly keySize: number;
  readonly storedKeyCount: number;
  readonly maxKeyCount: number;
  readonly maxKeyPerRequest: number;
  /** Bits. */
  readonly maxKeySize: number;
  /** Bits. */
  readonly minKeySize: number;
  readonly maxSaeIdCount: number;
}

export interface KeyRequest {
  readonly number?: number;
  /** Bits. */
  readonly size?: number;
  readonly additionalSlaveSaeIds?: readonly string[];
}

export type KeyDeliveryOperation = 'STATUS' | 'ENC_KEYS' | 'DEC_KEYS';

export interface KeyDelivery {
  /** Status of the link from the calling (master) SAE to `slaveSaeId`. */
  status(callerSaeId: string, slaveSaeId: string): Promise<Either<KeyDeliveryError, KeyDeliveryStatus>>;
  /** Get key: new keys for the calling master SAE, shared with `slaveSaeId` (and any additional slaves). */
  encKeys(callerSaeId: string, slaveSaeId: string, request: KeyRequest): Promise<Either<KeyDeliveryError, SaeKey[]>>;
  /** Get key with key IDs: the calling slave SAE fetches keys that `masterSaeId` obtained. */
  decKeys(callerSaeId: string, masterSaeId: string, keyIds: readonly string[]): Promise<Either<KeyDeliveryError, SaeKey[]>>;
  /**
   * Records a request the HTTP layer refused before it reached the service (a malformed body, an
   * unknown extension), so every refusal is in the audit. Returns the error it was given.
   */
  refuse(callerSaeId: string, pathSaeId: string, operation: KeyDeliveryOperation, error: KeyDeliveryError): Promise<KeyDeliveryError>;
}
