import * as t from 'io-ts';
import { rule } from '../shared/codec';
import { Identifier } from '../shared/types';

// Field codecs only principals use.

/** The roles a token can carry. SYSTEM is the platform acting on its own and never holds a token. */
export const PrincipalRole = t.keyof(
  { SECURITY_ADMIN: null, USER_ADMIN: null, AUDITOR: null, CHARGER: null, GATEWAY: null },
  'one of SECURITY_ADMIN, USER_ADMIN, AUDITOR, CHARGER, GATEWAY',
);
export type PrincipalRole = t.TypeOf<typeof PrincipalRole>;

/** Reserved: refused requests without a token are recorded under this name. */
export const ANONYMOUS = 'anonymous';

export const PrincipalId = rule(
  Identifier,
  `an identifier: 1 to 64 characters of letters, digits, '.', '_' or '-', other than '${ANONYMOUS}'`,
  (s) => s !== ANONYMOUS,
);
