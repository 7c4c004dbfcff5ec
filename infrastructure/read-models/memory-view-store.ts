import {
  ApplyResult,
  CountQuery,
  DumpedValue,
  Fields,
  ProjectionWrite,
  RangeQuery,
  ViewOp,
  ViewReads,
  ViewStore,
  lostBelow,
} from '../../application/ports/view-store';
import { CHECKPOINTS_KEY } from './checkpoints';
import { SortedSet } from './sorted-set';

const isEmpty = (record: object): boolean => {
  for (const _ in record) return false;
  return true;
};

/**
 * Views in this process's memory, the default: lost at exit and rebuilt from the log at start.
 * `apply` runs in one synchronous step, which makes each write atomic against every other call.
 */
export class MemoryViewStore implements ViewStore {
  private readonly hashMap = new Map<string, Map<string, string>>();
  private readonly indexMap = new Map<string, SortedSet>();

  readonly where = 'memory';

  constructor(readonly namespace = 'memory:') {}

  async apply(writes: readonly ProjectionWrite[]): Promise<ApplyResult> {
    const stored = this.hashMap.get(CHECKPOINTS_KEY) ?? new Map<string, string>();
    if (writes.some((write) => Number(stored.get(write.projection) ?? 0) !== write.after)) {
      return { applied: false, checkpoints: await this.checkpoints(writes.map((w) => w.projection)) };
    }
    for (const write of writes) {
      write.ops.forEach((op) => this.run(op));
      stored.set(write.projection, String(write.to));
    }
    this.hashMap.set(CHECKPOINTS_KEY, stored);
    return { applied: true };
  }

  async checkpoints(projections: readonly string[]): Promise<Record<string, number>> {
    const stored = this.hashMap.get(CHECKPOINTS_KEY);
    return Object.fromEntries(projections.map((p) => [p, Number(stored?.get(p) ?? 0)]));
  }

  async hashes(keys: readonly string[]): Promise<(Fields | null)[]> {
    return keys.map((key) => {
      const hash = this.hashMap.get(key);
      return hash === undefined ? null : Object.fromEntries(hash);
    });
  }

  async fields(key: string, fields: readonly string[]): Promise<(string | null)[]> {
    const hash = this.hashMap.get(key);
    return fields.map((field) => hash?.get(field) ?? null);
  }

  async range(key: string, query: RangeQuery): Promise<string[]> {
    return this.indexMap.get(key)?.range(query.min, query.max, query.rev, query.offset, query.count) ?? [];
  }

  async counts(queries: readonly CountQuery[]): Promise<number[]> {
    return queries.map((q) => this.indexMap.get(q.key)?.count(q.min, q.max) ?? 0);
  }

  async contains(key: string, members: readonly string[]): Promise<boolean[]> {
    const index = this.indexMap.get(key);
    return members.map((member) => index?.has(member) ?? false);
  }

  /** Checked in the same synchronous step as the read, which no write or drop can come between. */
  fenced(projections: readonly string[], atLeast: () => number): ViewReads {
    const checked =
      <A extends unknown[], R>(read: (...args: A) => Promise<R>) =>
      (...args: A): Promise<R> => {
        const stored = this.hashMap.get(CHECKPOINTS_KEY);
        const lost = lostBelow(projections.map((p) => stored?.get(p)), atLeast());
        return lost ? Promise.reject(lost) : read(...args);
      };
    return {
      hashes: checked((keys) => this.hashes(keys)),
      fields: checked((key, fields) => this.fields(key, fields)),
      range: checked((key, query) => this.range(key, query)),
      counts: checked((queries) => this.counts(queries)),
      contains: checked((key, members) => this.contains(key, members)),
    };
  }

  async dump(): Promise<Map<string, DumpedValue>> {
    const dumped = new Map<string, DumpedValue>();
    for (const [key, hash] of this.hashMap) {
      dumped.set(key, { type: 'hash', fields: Object.fromEntries([...hash].sort(([a], [b]) => (a < b ? -1 : 1))) });
    }
    for (const [key, index] of this.indexMap) dumped.set(key, { type: 'index', members: [...index.all()] });
    return dumped;
  }

  async drop(): Promise<void> {
    this.hashMap.clear();
    this.indexMap.clear();
  }

  scratch(): ViewStore {
    return new MemoryViewStore(`${this.namespace}scratch:`);
  }

  /** Memory never goes away while the process lives. */
  watch(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {}

  private run(op: ViewOp): void {
    switch (op.kind) {
      // Like Redis, a hash with no field does not exist: writing no field creates none.
      case 'set': {
        const hash = isEmpty(op.fields) ? undefined : this.hashFor(op.key, op.onlyIfExists);
        if (hash) for (const field in op.fields) hash.set(field, op.fields[field]);
        return;
      }
      case 'append': {
        const hash = isEmpty(op.fields) ? undefined : this.hashFor(op.key);
        if (hash) for (const field in op.fields) hash.set(field, (hash.get(field) ?? '') + op.fields[field]);
        return;
      }
      case 'incr':
        if (!isEmpty(op.by)) this.increment(this.hashFor(op.key, op.onlyIfExists), op.by);
        return;
      case 'index': {
        const index = this.indexFor(op.key);
        for (const member of op.members) index.add(member);
        return;
      }
      case 'reindex': {
        const hash = this.hashMap.get(op.key);
        if (hash === undefined) return;
        const old = hash.get(op.field);
        if (old !== undefined && old !== op.value) this.unindex(op.indexPrefix + old, op.member);
        hash.set(op.field, op.value);
        this.indexFor(op.indexPrefix + op.value).add(op.member);
        return;
      }
      case 'incrVia': {
        const owner = this.hashMap.get(op.via)?.get(op.viaField);
        if (owner !== undefined && !isEmpty(op.by)) this.increment(this.hashFor(op.keyPrefix + owner), op.by);
        return;
      }
    }
  }

  private hashFor(key: string, onlyIfExists = false): Map<string, string> | undefined {
    let hash = this.hashMap.get(key);
    if (hash === undefined && !onlyIfExists) this.hashMap.set(key, (hash = new Map()));
    return hash;
  }

  private indexFor(key: string): SortedSet {
    let index = this.indexMap.get(key);
    if (index === undefined) this.indexMap.set(key, (index = new SortedSet()));
    return index;
  }

  /** Like Redis, an index that loses its last member is gone. */
  private unindex(key: string, member: string): void {
    const index = this.indexMap.get(key);
    index?.delete(member);
    if (index?.size === 0) this.indexMap.delete(key);
  }

  private increment(hash: Map<string, string> | undefined, by: Readonly<Record<string, number>>): void {
    if (hash) for (const field in by) hash.set(field, String(Number(hash.get(field) ?? 0) + by[field]));
  }
}
