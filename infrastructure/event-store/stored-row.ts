import { EventMetadata, RecordedEvent } from '../../application/ports/event-store';

/**
 * An event as the in-memory and SQLite stores hold it, data and metadata as JSON text. A tuple,
 * because SQLite returns rows fastest as arrays (raw mode) and reads are dominated by allocation.
 */
export type StoredRow = readonly [
  id: string,
  type: string,
  data: string,
  metadata: string,
  streamId: string,
  revision: number,
  position: number,
];

/** Parses on every read, so callers get their own copy and can never change what is stored. */
export const toRecordedEvent = (row: StoredRow): RecordedEvent => ({
  id: row[0],
  type: row[1],
  data: JSON.parse(row[2]),
  metadata: JSON.parse(row[3]) as EventMetadata,
  streamId: row[4],
  revision: row[5],
  position: row[6],
});
