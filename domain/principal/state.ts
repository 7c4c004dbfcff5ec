import { PrincipalRole } from './fields';

export type PrincipalStatus = 'NONE' | 'ACTIVE' | 'REVOKED';

export interface PrincipalState {
  /** NONE until PrincipalCreated. */
  readonly status: PrincipalStatus;
  readonly principalId?: string;
  readonly name?: string;
  readonly role?: PrincipalRole;
  /** SHA-256 of the one token that currently works (while ACTIVE). */
  readonly tokenHash?: string;
}

export const initialPrincipalState: PrincipalState = { status: 'NONE' };
