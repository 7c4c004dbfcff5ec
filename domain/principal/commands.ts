import * as t from 'io-ts';
import { message } from '../shared/codec';
import { Sha256Hex, Text } from '../shared/types';
import { PrincipalId, PrincipalRole } from './fields';

// Commands carry the SHA-256 of a bearer token, never the token: the application generates the
// token, hands it to the caller once and keeps only its digest.
export const CreatePrincipal = message('CreatePrincipal', {
  principalId: PrincipalId,
  name: Text,
  role: PrincipalRole,
  tokenHash: Sha256Hex,
});
export const RotatePrincipalToken = message('RotatePrincipalToken', { principalId: PrincipalId, tokenHash: Sha256Hex });
export const RevokePrincipal = message('RevokePrincipal', { principalId: PrincipalId, reason: Text });

export const principalCommandCodecs = { CreatePrincipal, RotatePrincipalToken, RevokePrincipal } as const;

export type PrincipalCommand = t.TypeOf<(typeof principalCommandCodecs)[keyof typeof principalCommandCodecs]>;
