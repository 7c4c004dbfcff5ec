import { clientError } from '../errors';

/** Registers a listener for pushed items and returns its removal. */
export type Listen<T> = (push: (item: T) => void) => () => void;

/**
 * Pushed items as an async iterator for a subscription resolver. Hand-written rather than an async
 * generator: a generator waiting for the next item cannot run its cleanup until one arrives, while
 * this one removes its listener the moment the client unsubscribes or disconnects. A subscriber that
 * falls `maxQueued` items behind is ended with SUBSCRIBER_TOO_SLOW instead of buffering without bound.
 */
export const live = <T>(listen: Listen<T>, accept: (item: T) => boolean, maxQueued: number): AsyncIterableIterator<T> => {
  const queue: T[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | undefined;
  let failure: Error | undefined;
  let ended = false;

  const end = (): void => {
    if (ended) return;
    ended = true;
    unlisten();
    queue.length = 0;
    waiting?.({ value: undefined, done: true });
    waiting = undefined;
  };

  const unlisten = listen((item) => {
    if (ended || !accept(item)) return;
    if (waiting) {
      const resolve = waiting;
      waiting = undefined;
      resolve({ value: item, done: false });
    } else if (queue.length < maxQueued) {
      queue.push(item);
    } else {
      failure = clientError(
        'SUBSCRIBER_TOO_SLOW',
        `this subscription fell more than ${maxQueued} changes behind and was ended; subscribe again, ` +
          'then read the current views to fill the gap',
      );
      end();
    }
  });

  return {
    next: () => {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift() as T, done: false });
      if (failure) {
        const error = failure;
        failure = undefined;
        return Promise.reject(error);
      }
      if (ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return: () => {
      end();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw: (error: unknown) => {
      end();
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
};
