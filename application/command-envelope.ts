import * as t from 'io-ts';
import { rule } from '../domain/shared/codec';
import { Identifier, NonNegativeInt } from '../domain/shared/types';

export const Role = t.keyof(
  { SECURITY_ADMIN: null, USER_ADMIN: null, AUDITOR: null, CHARGER: null, GATEWAY: null, SYSTEM: null },
  'one of SECURITY_ADMIN, USER_ADMIN, AUDITOR, CHARGER, GATEWAY, SYSTEM',
);
export type Role = t.TypeOf<typeof Role>;

const CommandId = rule(t.string, "a command id: 8 to 128 characters of letters, digits, '.', '_', ':' or '-'", (s) =>
  /^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$/.test(s),
);

export const Actor = t.type({ id: Identifier, role: Role }, 'Actor');
export type Actor = t.TypeOf<typeof Actor>;

/** Who sends a command and under which ids; the command itself is decoded by its aggregate's codecs. */
export const CommandEnvelope = t.intersection([
  t.type({ commandId: CommandId, actor: Actor }),
  // expectedRevision: the revision the console last saw; when the stream has moved since, the
  // command is refused with CONFLICT instead of being decided on a state the user never saw.
  t.partial({ correlationId: CommandId, causationId: CommandId, expectedRevision: NonNegativeInt }),
]);
export type CommandEnvelope = t.TypeOf<typeof CommandEnvelope>;
