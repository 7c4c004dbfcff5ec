import { randomBytes, randomUUID } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { PrincipalRole } from '../../domain/principal';
import { invalidInput } from '../../domain/shared/errors';
import { CommandBus } from '../command-bus';
import { Actor } from '../command-envelope';
import { CommandError } from '../errors';
import { generateToken, hashToken } from './tokens';

// Principals are managed by the platform itself (its command line), never through a token.
const SYSTEM: Actor = { id: 'system', role: 'SYSTEM' };

export interface NewPrincipal {
  readonly name: string;
  readonly role: PrincipalRole;
  /** Generated when absent; a CHARGER's must be its charger id, since a charger acts only as itself. */
  readonly principalId?: string;
}

/** A token to hand to its holder once: the platform keeps only its hash and cannot show it again. */
export interface IssuedToken {
  readonly principalId: string;
  readonly token: string;
  /** Global position of the event; AccessControl.caughtUpTo(position) waits until the token works. */
  readonly position: number;
}

export interface Revoked {
  readonly principalId: string;
  readonly position: number;
}

const execute = (bus: CommandBus, type: string, data: object) =>
  bus.execute({ commandId: randomUUID(), actor: SYSTEM }, { type, data });

/** e.g. `user-admin-3f9a0c12d4e7` */
const generatedId = (role: PrincipalRole): string =>
  `${role.toLowerCase().replace(/_/g, '-')}-${randomBytes(6).toString('hex')}`;

export const createPrincipal = async (
  bus: CommandBus,
  { name, role, principalId }: NewPrincipal,
): Promise<E.Either<CommandError, IssuedToken>> => {
  if (role === 'CHARGER' && principalId === undefined) {
    return E.left(invalidInput([{ field: 'principalId', rule: "is required for a CHARGER: give the charger's id" }]));
  }
  const id = principalId ?? generatedId(role);
  const token = generateToken();
  const created = await execute(bus, 'CreatePrincipal', { principalId: id, name, role, tokenHash: hashToken(token) });
  return E.map(({ position }: { position: number }) => ({ principalId: id, token, position }))(created);
};

/** Issues a new token; the previous one stops working as soon as the event is applied. */
export const rotatePrincipalToken = async (
  bus: CommandBus,
  principalId: string,
): Promise<E.Either<CommandError, IssuedToken>> => {
  const token = generateToken();
  const rotated = await execute(bus, 'RotatePrincipalToken', { principalId, tokenHash: hashToken(token) });
  return E.map(({ position }: { position: number }) => ({ principalId, token, position }))(rotated);
};

export const revokePrincipal = async (
  bus: CommandBus,
  principalId: string,
  reason: string,
): Promise<E.Either<CommandError, Revoked>> => {
  const revoked = await execute(bus, 'RevokePrincipal', { principalId, reason });
  return E.map(({ position }: { position: number }) => ({ principalId, position }))(revoked);
};
