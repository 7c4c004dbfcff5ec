import * as t from 'io-ts';
import { message } from '../shared/codec';
import { Sha256Hex, Text } from '../shared/types';
import { PrincipalId, PrincipalRole } from './fields';

// Storing SHA-256(token) is safe because a token is 256 bits from a CSPRNG: finding a token from
// its digest takes about 2^256 guesses, so neither a salt nor a slow password hash (which exist to
// protect low-entropy, reused passwords) would add anything, and a leaked log grants no access.
export const PrincipalCreated = message('PrincipalCreated', {
  principalId: PrincipalId,
  name: Text,
  role: PrincipalRole,
  tokenHash: Sha256Hex,
});
/** The previous token stops working at once. */
export const PrincipalTokenRotated = message('PrincipalTokenRotated', {
  principalId: PrincipalId,
  tokenHash: Sha256Hex,
});
/** Final: the principal's token never works again and its id is never reused. */
export const PrincipalRevoked = message('PrincipalRevoked', { principalId: PrincipalId, reason: Text });

export const principalEventCodecs = { PrincipalCreated, PrincipalTokenRotated, PrincipalRevoked } as const;

export type PrincipalEvent = t.TypeOf<(typeof principalEventCodecs)[keyof typeof principalEventCodecs]>;
