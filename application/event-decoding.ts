import * as E from 'fp-ts/Either';
import { MessageCodecs } from '../domain/shared/codec';
import { DomainError } from '../domain/shared/errors';
import { RecordedEvent } from './ports/event-store';

/**
 * Turns a stored event back into a domain event. A type this build does not know, or data that no
 * longer fits its codec, is a clear error that names the stream and revision instead of a crash or a
 * silently wrong state.
 */
export const decodeRecorded = <Ev>(codecs: MessageCodecs, recorded: RecordedEvent): E.Either<DomainError, Ev> => {
  const where = `${recorded.streamId}@${recorded.revision} (position ${recorded.position})`;
  if (!Object.prototype.hasOwnProperty.call(codecs, recorded.type)) {
    return E.left({
      code: 'UNKNOWN_EVENT_TYPE',
      message:
        `event ${where} has type ${recorded.type}, which this version does not know; ` +
        'run a version that knows it, or repair the stream',
      details: { streamId: recorded.streamId, revision: recorded.revision, type: recorded.type },
    });
  }
  const decoded = codecs[recorded.type].decode({ type: recorded.type, data: recorded.data });
  return E.isRight(decoded)
    ? E.right(decoded.right as Ev)
    : E.left({
        code: 'MALFORMED_EVENT',
        message: `event ${where} of type ${recorded.type} does not match its schema; repair the stream`,
        details: { streamId: recorded.streamId, revision: recorded.revision, type: recorded.type },
      });
};

export const decodeAll = <Ev>(codecs: MessageCodecs, recorded: readonly RecordedEvent[]): E.Either<DomainError, Ev[]> => {
  const events: Ev[] = [];
  for (const r of recorded) {
    const decoded = decodeRecorded<Ev>(codecs, r);
    if (E.isLeft(decoded)) return decoded;
    events.push(decoded.right);
  }
  return E.right(events);
};
