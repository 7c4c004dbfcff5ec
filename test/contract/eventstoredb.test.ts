import { EventStore, NewEvent, StoreUnavailableError } from '../../application/ports/event-store';
import { openEventStoreDb } from '../../infrastructure/event-store/eventstoredb';
import { describeEventStoreContract } from './event-store.contract';
import { sampleEvent } from '../support/events';

const url = process.env.EVENTSTORE_URL;

if (url === undefined) {
  describe('EventStoreDB contract suite', () => {
    it('is skipped because EVENTSTORE_URL is not set; run it with EVENTSTORE_URL=esdb://127.0.0.1:2113?tls=false', () => {
      console.warn(
        'EventStoreDB contract suite skipped: EVENTSTORE_URL is not set. Start EventStoreDB 23+ or KurrentDB 25 ' +
          '(insecure mode) and run: EVENTSTORE_URL=esdb://127.0.0.1:2113?tls=false npx jest test/contract/eventstoredb.test.ts',
      );
      expect(url).toBeUndefined();
    });
  });
} else {
  // The server's own id rules (see EventStoreDbEventStore); the command bus keeps commands idempotent.
  describeEventStoreContract('EventStoreDB', async () => openEventStoreDb(url), {
    contiguousPositions: false,
    crossStreamIdConflict: false,
    staleRetryIsIdempotent: false,
  });
}

describe('EventStoreDB that cannot be reached', () => {
  // Nothing listens on port 1; the deadline bounds the calls that would otherwise wait.
  const unreachable = 'esdb://127.0.0.1:1?tls=false&defaultDeadline=2000';
  let store: EventStore;
  beforeEach(() => {
    store = openEventStoreDb(unreachable);
  });
  afterEach(() => store.close());

  const event: NewEvent = sampleEvent();

  const failureWithin = async (seconds: number, call: () => Promise<unknown>): Promise<unknown> => {
    const started = Date.now();
    const error = await call().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(seconds * 1000);
    return error;
  };

  it.each([
    ['append', (s: EventStore) => s.append('device-UKEY-000001', [event], 'no_stream')],
    ['readStream', (s: EventStore) => s.readStream('device-UKEY-000001')],
    ['readAll', (s: EventStore) => s.readAll({ maxCount: 10 })],
  ])('%s rejects with StoreUnavailableError within a few seconds', async (_, call) => {
    const error = await failureWithin(5, () => call(store));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as StoreUnavailableError).message).toMatch(/EventStoreDB event store is unavailable/);
  });

  it('subscribe reports StoreUnavailableError through onError within a few seconds', async () => {
    const error = await failureWithin(
      5,
      () =>
        new Promise<void>((_, reject) => {
          store.subscribe({ onEvent: () => undefined, onError: reject });
        }),
    );
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });
});
