import { Either } from 'fp-ts/Either';
import { DomainError } from './errors';
import { MessageCodecs } from './codec';

export interface Message {
  readonly type: string;
  readonly data: unknown;
}

/**
 * One aggregate: the pure pair decide/evolve plus what the application needs to route and
 * validate its messages. `D` is what decide sees; it is the folded state unless the aggregate
 * decides on facts from others (a charge looks at its device and charger).
 */
export interface Aggregate<S, C extends Message, E extends Message, D = S> {
  readonly name: string;
  readonly streamPrefix: string;
  readonly initialState: S;
  readonly commandCodecs: MessageCodecs;
  readonly eventCodecs: MessageCodecs;
  /** The id of the aggregate instance a command addresses (the stream is `${streamPrefix}-${id}`). */
  readonly targetOf: (command: C) => string;
  readonly decide: (command: C, state: D) => Either<DomainError, readonly E[]>;
  readonly evolve: (state: S, event: E) => S;
}

export const streamOf = (aggregate: { streamPrefix: string }, id: string): string => `${aggregate.streamPrefix}-${id}`;

export const fold = <S, E>(evolve: (s: S, e: E) => S, initial: S, events: readonly E[]): S => events.reduce(evolve, initial);
