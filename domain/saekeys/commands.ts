import * as t from 'io-ts';
import { message, rule } from '../shared/codec';
import { Identifier, Text } from '../shared/types';
import { KeyDeliveryOperation, KeyId, KeyPlace, listOf, RefusalStatus, SaeId } from './fields';

export const MAX_KEYS_PER_COMMAND = 1024;

export const IssueSaeKeys = message('IssueSaeKeys', {
  masterSaeId: SaeId,
  /** Slaves that may fetch the keys; empty for a device's keys, which any gateway of the platform may fetch. */
  slaveSaeIds: rule(t.readonlyArray(SaeId), 'a list of at most 16 SAE ids', (a) => a.length <= 16),
  requestId: Identifier,
  keys: listOf(KeyPlace, MAX_KEYS_PER_COMMAND, 'keys'),
});
export const DeliverSaeKeys = message('DeliverSaeKeys', {
  masterSaeId: SaeId,
  slaveSaeId: SaeId,
  keyIds: listOf(KeyId, MAX_KEYS_PER_COMMAND, 'key IDs'),
});
export const RecordSaeKeyRefusal = message('RecordSaeKeyRefusal', {
  /** The SAE the request's path named. */
  saeId: SaeId,
  callerSaeId: SaeId,
  operation: KeyDeliveryOperation,
  status: RefusalStatus,
  reason: Text,
});

export const saeKeysCommandCodecs = { IssueSaeKeys, DeliverSaeKeys, RecordSaeKeyRefusal };

export type SaeKeysCommand = t.TypeOf<(typeof saeKeysCommandCodecs)[keyof typeof saeKeysCommandCodecs]>;
export { KeyId };
