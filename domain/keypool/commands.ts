import * as t from 'io-ts';
import { message } from '../shared/codec';
import { Fraction, Identifier, PositiveInt, Serial, Sha256Hex, Text } from '../shared/types';

export const IngestKeyMaterial = message('IngestKeyMaterial', {
  sourceId: Identifier,
  blockId: Identifier,
  length: PositiveInt,
  qber: Fraction,
  /** Keyed commitment of the block, computed by the application: never the key itself. */
  commitment: Sha256Hex,
});
/** A block the key source produced but that must not become key (QBER above the threshold, a failed check). */
export const RecordKeyBlockDiscarded = message('RecordKeyBlockDiscarded', {
  sourceId: Identifier,
  blockId: Identifier,
  reason: Text,
});
export const ReserveKeyRange = message('ReserveKeyRange', {
  sourceId: Identifier,
  rangeId: Identifier,
  length: PositiveInt,
  chargeId: Identifier,
});
export const IssueKeyRange = message('IssueKeyRange', {
  sourceId: Identifier,
  rangeId: Identifier,
  deviceSerial: Serial,
});
export const ReleaseKeyRange = message('ReleaseKeyRange', { sourceId: Identifier, rangeId: Identifier });
export const FreezeKeyRange = message('FreezeKeyRange', { sourceId: Identifier, rangeId: Identifier, reason: Text });
export const RestoreKeyRange = message('RestoreKeyRange', { sourceId: Identifier, rangeId: Identifier });
export const ConsumeKeyRange = message('ConsumeKeyRange', { sourceId: Identifier, rangeId: Identifier });
export const DestroyKeyRange = message('DestroyKeyRange', { sourceId: Identifier, rangeId: Identifier, reason: Text });

export const keyPoolCommandCodecs = {
  IngestKeyMaterial,
  RecordKeyBlockDiscarded,
  ReserveKeyRange,
  IssueKeyRange,
  ReleaseKeyRange,
  FreezeKeyRange,
  RestoreKeyRange,
  ConsumeKeyRange,
  DestroyKeyRange,
};

export type KeyPoolCommand = t.TypeOf<(typeof keyPoolCommandCodecs)[keyof typeof keyPoolCommandCodecs]>;
