import { EventStore } from '../../application/ports/event-store';
import { EventStoreConfig } from '../config';
import { openEventStoreDb } from './eventstoredb';
import { InMemoryEventStore } from './memory';
import { PostgresEventStore } from './postgres';
import { SqliteEventStore } from './sqlite';

/** The adapter the configuration names. */
export const openEventStore = (config: EventStoreConfig): EventStore => {
  switch (config.kind) {
    case 'memory':
      return new InMemoryEventStore();
    case 'sqlite':
      return new SqliteEventStore(config.file);
    case 'postgres':
      return new PostgresEventStore(config.url, { schema: config.schema });
    case 'eventstoredb':
      return openEventStoreDb(config.url);
  }
};
