// Where read models keep their views: hashes of string fields and lexicographically ordered sets
// (indexes). Projections describe their changes as operations on these, so the same pure logic
// drives every adapter (memory, Redis); keys are relative to the store's namespace.

/** A field value; numbers are kept as decimal strings. */
export type Fields = Readonly<Record<string, string>>;

export type ViewOp =
  /** Sets fields of a hash, creating it; with onlyIfExists, a missing hash stays missing. */
  | { readonly kind: 'set'; readonly key: string; readonly fields: Fields; readonly onlyIfExists?: boolean }
  /** Adds whole numbers to fields of a hash (missing fields count as 0), creating it unless onlyIfExists. */
  | {
      readonly kind: 'incr';
      readonly key: string;
      readonly by: Readonly<Record<string, number>>;
      readonly onlyIfExists?: boolean;
    }
  /** Appends each value to its field of a hash, a missing field counting as empty; creates the hash. */
  | { readonly kind: 'append'; readonly key: string; readonly fields: Fields }
  /** Adds members to an index. */
  | { readonly kind: 'index'; readonly key: string; readonly members: readonly string[] }
  /**
   * Sets field `field` of hash `key` to `value` and moves `member` from the index `indexPrefix + old
   * value` to `indexPrefix + value`. Nothing happens when the hash does not exist.
   */
  | {
      readonly kind: 'reindex';
      readonly key: string;
      readonly field: string;
      readonly value: string;
      readonly indexPrefix: string;
      readonly member: string;
    }
  /**
   * Adds to fields of the hash `keyPrefix + owner`, where owner is field `viaField` of hash `via`;
   * nothing happens when there is no owner.
   */
  | {
      readonly kind: 'incrVia';
      readonly via: string;
      readonly viaField: string;
      readonly keyPrefix: string;
      readonly by: Readonly<Record<string, number>>;
    };

/**
 * What a batch of consecutive events does to one projection's views. It applies only when the
 * projection's stored checkpoint is exactly `after`, and moves the checkpoint to `to` (the last
 * event's position, even when the last events did not concern the projection). Events at or below
 * the checkpoint are never part of a write, so none can count twice.
 */
export interface ProjectionWrite {
  readonly projection: string;
  readonly after: number;
  readonly to: number;
  readonly ops: readonly ViewOp[];
}

export type ApplyResult =
  | { readonly applied: true }
  /**
   * Nothing written: a projection's stored checkpoint is not its write's `after` (its views were
   * lost, dropped, or moved on by another writer). Continue from these checkpoints.
   */
  | { readonly applied: false; readonly checkpoints: Readonly<Record<string, number>> };

/** A lexicographic range bound: `-` and `+` are the ends, `[x` includes x, `(x` excludes it. */
export type LexBound = '-' | '+' | `[${string}` | `(${string}`;

export interface RangeQuery {
  readonly min: LexBound;
  readonly max: LexBound;
  /** Newest (greatest) first; `min` and `max` keep their meaning. */
  readonly rev?: boolean;
  readonly offset?: number;
  readonly count?: number;
}

export interface CountQuery {
  readonly key: string;
  readonly min: LexBound;
  readonly max: LexBound;
}

/** A key's content in a form two stores can be compared by: a hash's fields in key order, or an index's members. */
export type DumpedValue =
  | { readonly type: 'hash'; readonly fields: Fields }
  | { readonly type: 'index'; readonly members: readonly string[] };

/** What queries read views with: one round trip (or one synchronous step) each. */
export type ViewReads = Pick<ViewStore, 'hashes' | 'fields' | 'range' | 'counts' | 'contains'>;

export interface ViewStore {
  /** The key prefix every view lives under. */
  readonly namespace: string;
  /** Which store, for messages: `memory`, `Redis (127.0.0.1:6379)`; never credentials. */
  readonly where: string;
  /** Applies every write and advances their checkpoints in one atomic step, or writes nothing. */
  apply(writes: readonly ProjectionWrite[]): Promise<ApplyResult>;
  /** Each projection's checkpoint; 0 for one that has none. */
  checkpoints(projections: readonly string[]): Promise<Record<string, number>>;

  /** The hashes' fields, null for a missing hash. */
  hashes(keys: readonly string[]): Promise<(Fields | null)[]>;
  /** Some fields of one hash, null for a missing field. */
  fields(key: string, fields: readonly string[]): Promise<(string | null)[]>;
  range(key: string, query: RangeQuery): Promise<string[]>;
  counts(queries: readonly CountQuery[]): Promise<number[]>;
  /** For each member, whether it is in the index. */
  contains(key: string, members: readonly string[]): Promise<boolean[]>;
  /**
   * The same reads, each made in one atomic step with a read of the stored checkpoints of
   * `projections`: one fails with ViewsLostError when the lowest of them is below `atLeast()`
   * (taken as the read is sent), for then the views were dropped or lost since this process last
   * saw them (another process's rebuild, a flush) and the read would answer from what is left as
   * if it were current. A store other processes share (Redis) then also tells its watchers
   * 'dropped'; one only this process holds (memory) can lose views only by its own hand.
   */
  fenced(projections: readonly string[], atLeast: () => number): ViewReads;

  /** Every key under the namespace with its content, for comparing two stores. */
  dump(): Promise<Map<string, DumpedValue>>;
  /** Deletes every key under the namespace. */
  drop(): Promise<void>;
  /** An empty store of the same kind under a namespace of its own, for checks; drop it when done. */
  scratch(): ViewStore;
  /**
   * Tells `listener` when the store becomes unreachable ('down') and reachable again ('up'), and
   * when another process dropped the views ('dropped': a rebuild), where the store can tell.
   */
  watch(listener: (state: ViewStoreEvent) => void): () => void;
  close(): Promise<void>;
}

export type ViewStoreEvent = 'down' | 'up' | 'dropped';

/** Why answers wait while views that were lost are rebuilt. */
export const lostViews = (position: number, expected: number): string =>
  `the view store lost views: they hold the log up to position ${position}, not ${expected}; ` +
  'they are being rebuilt from the log, retry shortly';

/**
 * The answer of a fenced read to the checkpoints it read (absent ones count as 0): ViewsLostError
 * when the lowest is below `expected`, undefined while the views still hold what was applied.
 */
export const lostBelow = (stored: readonly (string | null | undefined)[], expected: number): ViewsLostError | undefined => {
  const position = Math.min(...stored.map((value) => Number(value ?? 0)));
  return position < expected ? new ViewsLostError(position, expected) : undefined;
};

/** A fenced read found the views holding less of the log than this process had applied to them. */
export class ViewsLostError extends Error {
  readonly code = 'VIEWS_LOST';
  constructor(
    /** The lowest stored checkpoint the read found. */
    readonly position: number,
    readonly expected: number,
  ) {
    super(lostViews(position, expected));
    this.name = 'ViewsLostError';
  }
}

const unreachable = (store?: string): string =>
  `the read models are unavailable (stale): the ${store === undefined ? '' : `${store} `}view store cannot be reached; ` +
  'retry shortly, the views catch up by themselves once it is back';

/** What a client is told while the view store cannot be reached: which store, at what address, is for the server's log. */
export const VIEWS_UNREACHABLE = unreachable();

/**
 * The views cannot be read or written now; answers would be wrong, so none is given. The message
 * names the store and its address, for the server's log and the command line; clients get
 * VIEWS_UNREACHABLE.
 */
export class ViewsUnavailableError extends Error {
  readonly code = 'VIEWS_UNAVAILABLE';
  constructor(store: string, cause?: unknown) {
    super(unreachable(store), { cause });
    this.name = 'ViewsUnavailableError';
  }
}
