import * as t from 'io-ts';
import { rule } from './codec';

// Identifiers and values shared by the aggregates. Each is a codec named after its rule.

export const Serial = rule(t.string, "a device serial number: 6 to 32 characters of A-Z, 0-9 or '-'", (s) =>
  /^[A-Z0-9][A-Z0-9-]{5,31}$/.test(s),
);
export const Identifier = rule(t.string, "an identifier: 1 to 64 characters of letters, digits, '.', '_' or '-'", (s) =>
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(s),
);
export const Text = rule(t.string, 'text of 1 to 200 characters', (s) => s.trim().length > 0 && s.length <= 200);
export const Sha256Hex = rule(t.string, 'a SHA-256 digest as 64 lowercase hex characters', (s) =>
  /^[0-9a-f]{64}$/.test(s),
);
export const PositiveInt = rule(t.number, 'a whole number greater than 0', (n) => Number.isSafeInteger(n) && n > 0);
export const NonNegativeInt = rule(t.number, 'a whole number of 0 or more', (n) => Number.isSafeInteger(n) && n >= 0);
export const Fraction = rule(t.number, 'a number from 0 to 1', (n) => Number.isFinite(n) && n >= 0 && n <= 1);

export const DeviceKind = t.keyof({ UKEY: null, TF_CARD: null, SD_CARD: null }, 'one of UKEY, TF_CARD, SD_CARD');
export type DeviceKind = t.TypeOf<typeof DeviceKind>;
