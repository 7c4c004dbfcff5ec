import * as t from 'io-ts';
import { rule } from '../shared/codec';
import { Identifier, NonNegativeInt, PositiveInt, Serial } from '../shared/types';

/**
 * An SAE id has a device serial's form: a charged device is the master SAE named by its serial,
 * and a gateway holds key ranges the way a device does, so both share one namespace of key holders.
 */
export const SaeId = rule(Serial, "an SAE id: 6 to 32 characters of A-Z, 0-9 or '-'", () => true);
export const KeyId = rule(t.string, 'a key ID: a UUID such as 0f8b3c2e-7d4a-4f1b-9c6e-2a5d8e1f3b7c', (s) =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s),
);

/** Where a key's bytes are: a slice of a key pool range, never the bytes. */
export const KeyPlace = t.exact(
  t.type({ keyId: KeyId, sourceId: Identifier, rangeId: Identifier, offset: NonNegativeInt, length: PositiveInt }),
  'KeyPlace',
);
export type KeyPlace = t.TypeOf<typeof KeyPlace>;

export const KeyDeliveryOperation = t.keyof(
  { STATUS: null, ENC_KEYS: null, DEC_KEYS: null },
  'one of STATUS, ENC_KEYS, DEC_KEYS',
);
export const RefusalStatus = rule(t.number, 'one of 400, 401, 503', (n) => n === 400 || n === 401 || n === 503);

export const listOf = <C extends t.Mixed>(codec: C, max: number, what: string) =>
  rule(t.readonlyArray(codec), `a list of 1 to ${max} ${what}`, (a) => a.length >= 1 && a.length <= max);
