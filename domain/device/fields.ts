import * as t from 'io-ts';
import { CredentialKind as CredentialKindType } from './state';

// Field codecs only the device aggregate uses.

export const CredentialKind: t.Type<CredentialKindType> = t.keyof(
  { CERTIFICATE: null, QK_STRING: null },
  'one of CERTIFICATE, QK_STRING',
);

export const AuthenticationFailureReason = t.keyof(
  { BAD_PIN: null, BAD_PROOF: null, UNKNOWN_CREDENTIAL: null },
  'one of BAD_PIN, BAD_PROOF, UNKNOWN_CREDENTIAL',
);
export type AuthenticationFailureReason = t.TypeOf<typeof AuthenticationFailureReason>;
