import * as E from 'fp-ts/Either';
import { Aggregate, Message } from '../../domain/shared/aggregate';
import { decodeMessage } from '../../domain/shared/codec';
import { DomainError, DomainErrorCode } from '../../domain/shared/errors';

/**
 * Given events / when command / then events or error, through the same codecs the application
 * uses: the command is decoded from plain input, and every given and emitted event must pass its
 * codec, so a scenario also proves the catalogue is complete.
 */
export const scenario = <S, C extends Message, Ev extends Message, D = S>(
  aggregate: Aggregate<S, C, Ev, D>,
  toDecision: (state: S) => D = (s) => s as unknown as D,
) => ({
  given: (...events: Ev[]) => ({
    when: (command: unknown) => {
      for (const event of events) expectValidEvent(aggregate, event);
      const state = events.reduce(aggregate.evolve, aggregate.initialState);
      const result = E.chain((c: C) => aggregate.decide(c, toDecision(state)))(
        decodeMessage<C>(aggregate.commandCodecs, command, `${aggregate.name} command`),
      );
      return {
        result,
        then: (...expected: Ev[]): void => {
          if (E.isLeft(result)) throw new Error(`expected events, got error ${JSON.stringify(result.left)}`);
          result.right.forEach((event) => expectValidEvent(aggregate, event));
          expect(result.right).toEqual(expected);
        },
        thenError: (code: DomainErrorCode, message?: RegExp | string): DomainError => {
          if (E.isRight(result)) throw new Error(`expected ${code}, got events ${JSON.stringify(result.right)}`);
          expect(result.left.code).toBe(code);
          if (message !== undefined) expect(result.left.message).toMatch(message);
          return result.left;
        },
      };
    },
  }),
});

const expectValidEvent = <S, C extends Message, Ev extends Message, D>(
  aggregate: Aggregate<S, C, Ev, D>,
  event: Ev,
): void => {
  const decoded = decodeMessage(aggregate.eventCodecs, event, `${aggregate.name} event`);
  if (E.isLeft(decoded)) throw new Error(`event ${event.type} fails its codec: ${decoded.left.message}`);
  expect(decoded.right).toEqual(event);
};
