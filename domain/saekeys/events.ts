import * as t from 'io-ts';
import { message } from '../shared/codec';
import { Identifier, Text } from '../shared/types';
import { KeyDeliveryOperation, KeyPlace, RefusalStatus, SaeId } from './fields';

const RangeRef = t.exact(t.type({ sourceId: Identifier, rangeId: Identifier }), 'RangeRef');

export const SaeKeysIssued = message('SaeKeysIssued', {
  masterSaeId: SaeId,
  slaveSaeIds: t.readonlyArray(SaeId),
  requestId: Identifier,
  keys: t.readonlyArray(KeyPlace),
});
export const SaeKeysDelivered = message('SaeKeysDelivered', {
  masterSaeId: SaeId,
  slaveSaeId: SaeId,
  keys: t.readonlyArray(KeyPlace),
  /** Ranges every key of which has now reached its slave: nothing of them is needed any more. */
  rangesDone: t.readonlyArray(RangeRef),
});
export const SaeKeyRequestRefused = message('SaeKeyRequestRefused', {
  saeId: SaeId,
  callerSaeId: SaeId,
  operation: KeyDeliveryOperation,
  status: RefusalStatus,
  reason: Text,
});

export const saeKeysEventCodecs = { SaeKeysIssued, SaeKeysDelivered, SaeKeyRequestRefused };

export type SaeKeysEvent = t.TypeOf<(typeof saeKeysEventCodecs)[keyof typeof saeKeysEventCodecs]>;
