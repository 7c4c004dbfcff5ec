import * as t from 'io-ts';
import { message } from '../shared/codec';
import { Identifier, Text } from '../shared/types';
import { BootMeasurements, MismatchedStages } from './measurements';

export const ChargerRegistered = message('ChargerRegistered', {
  chargerId: Identifier,
  location: Text,
  golden: BootMeasurements,
});
export const ChargerAttested = message('ChargerAttested', { chargerId: Identifier });
/** A refused attestation is recorded, not just rejected: the audit must show it. */
export const ChargerAttestationFailed = message('ChargerAttestationFailed', {
  chargerId: Identifier,
  mismatched: MismatchedStages,
});
export const ChargerRevoked = message('ChargerRevoked', { chargerId: Identifier, reason: Text });

export const chargerEventCodecs = {
  ChargerRegistered,
  ChargerAttested,
  ChargerAttestationFailed,
  ChargerRevoked,
} as const;

export type ChargerEvent = t.TypeOf<(typeof chargerEventCodecs)[keyof typeof chargerEventCodecs]>;
