import * as t from 'io-ts';
import { KeyDeliveryStatus, SaeKey } from '../../application/keydelivery/key-delivery';
import { rule } from '../../domain/shared/codec';
import { Identifier, NonNegativeInt, PositiveInt } from '../../domain/shared/types';

// ETSI GS QKD 014's JSON, spelled as the standard spells it; both the KME's server and the client
// that pulls key from another KME use these, so the two cannot drift apart.

export const API_PREFIX = '/api/v1/keys';

export const Base64 = rule(t.string, 'base64 text', (s) => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s));

/** The 11 fields are all required: an independent client refuses a status that lacks one. */
export const WireStatus = t.intersection([
  t.type({
    source_KME_ID: t.string,
    target_KME_ID: t.string,
    master_SAE_ID: t.string,
    slave_SAE_ID: t.string,
    key_size: PositiveInt,
    stored_key_count: NonNegativeInt,
    max_key_count: NonNegativeInt,
    max_key_per_request: PositiveInt,
    max_key_size: PositiveInt,
    min_key_size: PositiveInt,
    max_SAE_ID_count: NonNegativeInt,
  }),
  t.partial({ status_extension: t.UnknownRecord }),
]);
export type WireStatus = t.TypeOf<typeof WireStatus>;

/** A key container; key_ID must fit the platform's identifiers (the standard's UUIDs do). */
export const WireKeyContainer = t.type({
  keys: t.array(t.type({ key_ID: Identifier, key: Base64 })),
});
export type WireKeyContainer = t.TypeOf<typeof WireKeyContainer>;

/** The error body of every non-200 answer, 401 included. */
export const WireError = t.intersection([t.type({ message: t.string }), t.partial({ details: t.array(t.UnknownRecord) })]);
export type WireError = t.TypeOf<typeof WireError>;

export const statusToWire = (status: KeyDeliveryStatus): WireStatus => ({
  source_KME_ID: status.sourceKmeId,
  target_KME_ID: status.targetKmeId,
  master_SAE_ID: status.masterSaeId,
  slave_SAE_ID: status.slaveSaeId,
  key_size: status.keySize,
  stored_key_count: status.storedKeyCount,
  max_key_count: status.maxKeyCount,
  max_key_per_request: status.maxKeyPerRequest,
  max_key_size: status.maxKeySize,
  min_key_size: status.minKeySize,
  max_SAE_ID_count: status.maxSaeIdCount,
});

export const statusFromWire = (status: WireStatus): KeyDeliveryStatus => ({
  sourceKmeId: status.source_KME_ID,
  targetKmeId: status.target_KME_ID,
  masterSaeId: status.master_SAE_ID,
  slaveSaeId: status.slave_SAE_ID,
  keySize: status.key_size,
  storedKeyCount: status.stored_key_count,
  maxKeyCount: status.max_key_count,
  maxKeyPerRequest: status.max_key_per_request,
  maxKeySize: status.max_key_size,
  minKeySize: status.min_key_size,
  maxSaeIdCount: status.max_SAE_ID_count,
});

export const keysToWire = (keys: readonly SaeKey[]): WireKeyContainer => ({
  keys: keys.map((key) => ({ key_ID: key.keyId, key: key.key.toString('base64') })),
});

export const keysFromWire = (container: WireKeyContainer): SaeKey[] =>
  container.keys.map((entry) => ({ keyId: entry.key_ID, key: Buffer.from(entry.key, 'base64') }));

/** The path of a method for one SAE id, which is percent-encoded. */
export const methodPath = (saeId: string, method: 'status' | 'enc_keys' | 'dec_keys'): string =>
  `${API_PREFIX}/${encodeURIComponent(saeId)}/${method}`;
