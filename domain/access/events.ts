import * as t from 'io-ts';
import { message } from '../shared/codec';
import { Identifier, Text } from '../shared/types';
import { PrincipalRole } from '../principal/fields';

export const AccessDenialReason = t.keyof(
  { UNAUTHENTICATED: null, FORBIDDEN: null },
  'one of UNAUTHENTICATED, FORBIDDEN',
);
export type AccessDenialReason = t.TypeOf<typeof AccessDenialReason>;

/**
 * A refused request, recorded for the audit. It records and decides nothing, so it is appended
 * without a revision check. The presented token never appears; principalId and role are null when
 * no known token was presented.
 */
export const AccessDenied = message('AccessDenied', {
  principalId: t.union([Identifier, t.null], 'an identifier or null'),
  role: t.union([PrincipalRole, t.null], 'a role or null'),
  /** A command type, a query operation, or `authenticate`. */
  operation: Text,
  /** The stream a command addressed or the id a query asked for, when known. */
  target: t.union([Text, t.null], 'text or null'),
  reason: AccessDenialReason,
});

export const accessEventCodecs = { AccessDenied } as const;

export type AccessEvent = t.TypeOf<(typeof accessEventCodecs)[keyof typeof accessEventCodecs]>;
