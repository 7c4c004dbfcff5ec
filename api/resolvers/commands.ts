import * as E from 'fp-ts/Either';
import { Aggregate } from '../../domain/shared/aggregate';
import { ApiContext, ResolverEnv } from '../context';
import { commandFailure } from '../errors';
import { commandPolicy, CommandType, hasMutation, mayReadStateOf } from '../../application/access/policy';
import { allowed } from './access';

/** A mutation's input: the command's data plus the envelope fields a console chooses. */
type CommandInput = { readonly commandId: string; readonly expectedRevision?: number | null } & Record<string, unknown>;

/**
 * Shows a CONFLICT's current state in a form fit for a console; the aggregate's state by default.
 * `any`: the bus reports the state of whichever aggregate the command addressed.
 */
export type PresentState = (state: any, data: Readonly<Record<string, unknown>>) => unknown;

export const mutationName = (commandType: string): string => commandType[0].toLowerCase() + commandType.slice(1);

/**
 * One mutation per command type of an aggregate, named after it (InitializeDevice -> initializeDevice):
 * authorize, then hand the command to the bus as the principal. A CONFLICT shows the current state
 * only to a principal that some query lets read it: a charger must not learn a device's owner by
 * naming a stale revision.
 */
export const commandMutations = (
  { deps }: ResolverEnv,
  aggregate: Aggregate<any, any, any, any>,
  presentState: PresentState = (state) => state,
) =>
  Object.fromEntries(
    // A command no role may send (the host's tools send it), or one sent only inside another mutation, has none.
    Object.keys(aggregate.commandCodecs)
      .filter((type) => hasMutation(commandPolicy[type as CommandType]))
      .map((type) => [
        mutationName(type),
        async (_parent: unknown, { input }: { input: CommandInput }, context: ApiContext) => {
          const { principal } = context;
          const { commandId, expectedRevision, ...data } = input;
          const command = { type, data };
          await allowed(deps.access.authorizeCommand(principal, command), context);
          // AccessControl grants no command to a request without a principal; reaching here without one is a bug.
          if (principal === null) throw new Error(`${type} was authorized without a principal`);
          const envelope = {
            commandId,
            actor: { id: principal.id, role: principal.role },
            ...(expectedRevision != null && { expectedRevision }),
          };
          // Checked again in the command's turn: a charger revoked while it queued is refused then.
          const admit = () => allowed(deps.access.authorizeCommand(principal, command), context);
          const result = await deps.bus.execute(envelope, command, admit, context.sending);
          if (E.isLeft(result)) {
            const shown = mayReadStateOf(principal, aggregate, aggregate.targetOf(command));
            throw commandFailure(result.left, shown ? (state) => presentState(state, data) : undefined);
          }
          return result.right;
        },
      ]),
  );
