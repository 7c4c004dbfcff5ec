import * as t from 'io-ts';
import { message } from '../shared/codec';
import { Identifier, Text } from '../shared/types';
import { BootMeasurements } from './measurements';

export const RegisterCharger = message('RegisterCharger', {
  chargerId: Identifier,
  location: Text,
  golden: BootMeasurements,
});
export const AttestCharger = message('AttestCharger', { chargerId: Identifier, measurements: BootMeasurements });
export const RevokeCharger = message('RevokeCharger', { chargerId: Identifier, reason: Text });

export const chargerCommandCodecs = { RegisterCharger, AttestCharger, RevokeCharger } as const;

export type ChargerCommand = t.TypeOf<(typeof chargerCommandCodecs)[keyof typeof chargerCommandCodecs]>;
