import {
  AppendResult,
  ChainReport,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StoreUnavailableError,
  SubscribeOptions,
  Subscription,
  VerifyChainOptions,
} from '../../application/ports/event-store';
import { decideAppend, StoredRef } from './append-decision';
import { AuditChain, ChainKeyMissingError, ChainRow } from './chain';
import { checkStreamId, prepareAppend, readAllWindow, readStreamWindow, Window } from './input';
import { StoredRow, toRecordedEvent } from './stored-row';
import { SubscriptionHub } from './subscriptions';

const STORE = 'in-memory';

export interface InMemoryEventStoreOptions {
  /** The master key's 'audit-chain/v1' subkey; without it events are stored unsealed. */
  readonly chainKey?: Buffer;
}

/**
 * The reference behaviour, for tests: events are kept as JSON text like the SQL stores keep them,
 * so what goes in and what comes out obey the same rules everywhere. An append runs in one
 * synchronous step, which makes it atomic against every other call.
 */
export class InMemoryEventStore implements EventStore {
  /** Index = position - 1. */
  private readonly rows: StoredRow[] = [];
  /** Chain value of rows[i]; null when stored without a key. */
  private readonly chains: (Buffer | null)[] = [];
  private readonly streams = new Map<string, StoredRow[]>();
  private readonly byId = new Map<string, StoredRef>();
  private readonly hub = new SubscriptionHub((after, maxCount) => this.readAll({ after, maxCount }));
  private readonly chain?: AuditChain;
  private closed = false;

  constructor(options: InMemoryEventStoreOptions = {}) {
    if (options.chainKey !== undefined) this.chain = new AuditChain(options.chainKey);
  }

  async append(streamId: string, events: readonly NewEvent[], expected: ExpectedRevision): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events, expected);
    this.ensureOpen();
    const stream = this.streams.get(streamId) ?? [];
    const found = prepared.flatMap((event) => this.byId.get(event.id) ?? []);
    const ids = prepared.map((event) => event.id);
    const replayed = decideAppend(streamId, ids, expected, stream.length - 1, found);
    if (replayed) return replayed;
    const start = { previous: this.chains.at(-1) ?? null, streamId, position: this.rows.length + 1, revision: stream.length };
    const chains = this.chain?.seal(start, prepared);
    prepared.forEach((event, i) => {
      const ref = { id: event.id, streamId, revision: stream.length, position: this.rows.length + 1 };
      const row: StoredRow = [event.id, event.type, event.data, event.metadata, streamId, ref.revision, ref.position];
      this.rows.push(row);
      this.chains.push(chains?.[i] ?? null);
      stream.push(row);
      this.byId.set(event.id, ref);
    });
    this.streams.set(streamId, stream);
    this.hub.notify();
    return { nextRevision: stream.length - 1, position: this.rows.length };
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    checkStreamId(streamId);
    const window = readStreamWindow(options);
    this.ensureOpen();
    return slice(this.streams.get(streamId) ?? [], window.from, window).map(toRecordedEvent);
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    const window = readAllWindow(options);
    this.ensureOpen();
    return slice(this.rows, window.from, window).map(toRecordedEvent);
  }

  async lastPosition(): Promise<number> {
    this.ensureOpen();
    return this.rows.length;
  }

  async verifyChain(options?: VerifyChainOptions): Promise<ChainReport> {
    if (this.chain === undefined) throw new ChainKeyMissingError(STORE);
    return this.chain.verify((after, limit) => {
      this.ensureOpen();
      return this.rows.slice(after, after + limit).map((row): ChainRow => ({
        id: row[0],
        type: row[1],
        data: row[2],
        metadata: row[3],
        streamId: row[4],
        revision: row[5],
        position: row[6],
        chain: this.chains[row[6] - 1],
      }));
    }, options);
  }

  subscribe(options: SubscribeOptions): Subscription {
    readAllWindow({ after: options.after });
    return this.hub.subscribe(options);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.hub.closeAll();
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreUnavailableError(STORE, new Error('the store was closed'));
  }
}

const slice = <T>(rows: readonly T[], start: number, window: Window): T[] =>
  rows.slice(start, window.maxCount === undefined ? undefined : start + window.maxCount);
