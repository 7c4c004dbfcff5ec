import { EventStore } from '../../application/ports/event-store';
import { EventStoreConfig } from '../config';
import { openEventStoreDb } from './eventstoredb';
import { InMemoryEventStore } from './memory';
import { PostgresEventStore } from './postgres';
import { SqliteEventStore } from './sqlite';

/**
 * The adapter the configuration names. With a chain key, the stores that can seal every event into
 * the keyed hash chain do so (EventStoreDB cannot: it has no serialised append to chain in).
 */
export const openEventStore = (config: EventStoreConfig, chainKey?: Buffer): EventStore => {
  switch (config.kind) {
    case 'memory':
      return new InMemoryEventStore({ chainKey });
    case 'sqlite':
      return new SqliteEventStore(config.file, { chainKey });
    case 'postgres':
      return new PostgresEventStore(config.url, { schema: config.schema, chainKey });
    case 'eventstoredb':
      return openEventStoreDb(config.url);
  }
};
