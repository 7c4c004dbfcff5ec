import { randomUUID } from 'node:crypto';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  DisconnectsClientError,
  ErrorReply,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
} from 'redis';
import {
  ApplyResult,
  CountQuery,
  DumpedValue,
  Fields,
  ProjectionWrite,
  RangeQuery,
  ViewReads,
  ViewStore,
  ViewStoreEvent,
  lostBelow,
  ViewsUnavailableError,
} from '../../application/ports/view-store';
import { APPLY_SCRIPT, applyCommand, withScript } from './apply-script';
import { CHECKPOINTS_KEY } from './checkpoints';

export const DEFAULT_VIEW_NAMESPACE = 'qkmp:views:';

const createViewClient = (url: string) =>
  createClient({
    url,
    // Fail at once while disconnected: a query must say the views are unavailable, not wait.
    disableOfflineQueue: true,
    socket: { connectTimeout: 5000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
  });

/** The client a RedisViewStore works through; exposed so tests can inject faults into its calls. */
export type ViewClient = ReturnType<typeof createViewClient>;
type Multi = ReturnType<ViewClient['multi']>;
type Queue = (multi: Multi) => void;

// Errors that mean Redis cannot be reached or cannot serve right now, not that the request was wrong.
const CONNECTION_ERRORS = [
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  DisconnectsClientError,
  ReconnectStrategyError,
  SocketClosedUnexpectedlyError,
  SocketTimeoutError,
  TimeoutError,
];
const UNAVAILABLE_REPLIES = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN)\b/;

const unavailable = (error: unknown): boolean =>
  error instanceof ErrorReply
    ? UNAVAILABLE_REPLIES.test(error.message)
    : CONNECTION_ERRORS.some((kind) => error instanceof kind) ||
      /^E(CONNREFUSED|CONNRESET|PIPE|HOSTUNREACH|NETUNREACH|TIMEDOUT)$/.test(String((error as { code?: unknown })?.code));

const SCAN_COUNT = 1000;
/** Script commands with more arguments go with the script itself (see apply). */
const BY_DIGEST_MAX_ARGS = 1000;

/** Far above any answer of a working Redis here: a replay's largest script takes tens of ms. */
export const DEFAULT_REPLY_TIMEOUT_MS = 3000;
/** A drop scans the whole database in one script: give it as long as a large one needs. */
const DROP_TIMEOUT_MS = 60_000;

/** Deletes every key matching ARGV[1], scanning ARGV[2] keys at a time, then publishes ARGV[4] on channel ARGV[3]. */
const DROP_SCRIPT = `
local cursor = '0'
local deleted = 0
local page = tonumber(ARGV[2])
repeat
  local found = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', page)
  cursor = found[1]
  local keys = found[2]
  for i = 1, #keys, page do
    redis.call('UNLINK', unpack(keys, i, math.min(i + page - 1, #keys)))
  end
  deleted = deleted + #keys
until cursor == '0'
-- A user without the right to publish still drops: the servers' checkpoint checks notice then.
redis.pcall('PUBLISH', ARGV[3], ARGV[4])
return deleted
`;

export interface RedisViewStoreOptions {
  /** How long a command may wait for Redis's answer before the views count as unavailable. */
  readonly replyTimeoutMs?: number;
}

/**
 * Views in Redis through node-redis, every key under `namespace`. Commands fail at once with
 * ViewsUnavailableError while Redis is unreachable, and after replyTimeoutMs when it does not
 * answer; the client keeps reconnecting in the background (backoff up to 2 s) and `watch` says
 * when it is back.
 */
export class RedisViewStore implements ViewStore {
  private readonly reads: RedisReads;
  private reachable = false;
  private readonly listeners = new Set<(state: ViewStoreEvent) => void>();
  /** Told by the script of every drop of these views, so that other processes hear of it at once. */
  private readonly dropChannel: string;
  /** Names this store's own drops, which it need not be told of. */
  private readonly id = randomUUID();
  /** The connection that listens for other processes' drops (a subscribed connection serves nothing else). */
  private subscriber?: ViewClient;

  private constructor(
    readonly client: ViewClient,
    readonly namespace: string,
    readonly where: string,
    /** False for a scratch store that shares its parent's connection. */
    private readonly ownsClient: boolean,
    private readonly replyTimeoutMs: number,
  ) {
    checkNamespace(namespace);
    this.reads = new RedisReads(namespace, (queue) => this.pipeline(queue));
    this.dropChannel = `${namespace}dropped`;
    if (!ownsClient) return;
    // Without an 'error' listener node-redis crashes the process when Redis goes away.
    client.on('error', () => this.announce('down'));
    client.on('end', () => this.announce('down'));
    client.on('ready', () => {
      // Loaded before any batch is sent on the new connection (a restarted Redis knows no script):
      // batches sent by digest into a Redis without it would be resent after the ones behind them,
      // which the checkpoints then refuse as applied out of order.
      client.sendCommand(['SCRIPT', 'LOAD', APPLY_SCRIPT]).catch(() => undefined);
      this.announce('up');
    });
  }

  /**
   * Starts connecting and returns at once: while Redis is down the store answers
   * ViewsUnavailableError and keeps trying. Use `ready` to wait for the first connection.
   */
  static open(url: string, namespace = DEFAULT_VIEW_NAMESPACE, options: RedisViewStoreOptions = {}): RedisViewStore {
    const client = createViewClient(url);
    const where = `Redis (${describeUrl(url)})`;
    const store = new RedisViewStore(client, namespace, where, true, options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS);
    // connect() settles only once connected (or closed); until then commands fail fast.
    client.connect().catch(() => undefined);
    store.listenForDrops();
    return store;
  }

  /**
   * Subscribes to the drops of these views, so that a server hears of a rebuild by another process
   * at once rather than at its next checkpoint check. node-redis subscribes again after a reconnect.
   */
  private listenForDrops(): void {
    const subscriber = this.client.duplicate();
    // The main connection reports whether Redis can be reached; this one only listens.
    subscriber.on('error', () => undefined);
    this.subscriber = subscriber;
    subscriber
      .connect()
      .then(() => subscriber.subscribe(this.dropChannel, (by) => (by === this.id ? undefined : this.tell('dropped'))))
      .catch(() => undefined);
  }

  /** Resolves true once connected, false if that takes longer than `timeoutMs`. */
  async ready(timeoutMs: number): Promise<boolean> {
    if (this.client.isReady) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        resolve(ok);
      };
      const onReady = (): void => done(true);
      this.client.on('ready', onReady);
    });
  }

  /**
   * A batch of many arguments (a replay's) goes with the script itself: sending it by digest would
   * mean holding all its arguments until the reply, to send them again should Redis have lost the
   * script, and the garbage collector would copy them all meanwhile. A small one (a live batch)
   * goes by digest; the script is a few kilobytes. Not async, so nothing here holds the command.
   */
  apply(writes: readonly ProjectionWrite[]): Promise<ApplyResult> {
    let reply: Promise<unknown>;
    try {
      const command = applyCommand(this.namespace + CHECKPOINTS_KEY, this.namespace, writes);
      reply = this.answered(command.length > BY_DIGEST_MAX_ARGS ? this.client.sendCommand(withScript(command)) : this.byDigest(command));
    } catch (error) {
      return Promise.reject(this.failure(error));
    }
    return reply.then(
      (result) => {
        const replies = result as string[];
        if (replies[0] === 'ok') return { applied: true };
        const checkpoints: Record<string, number> = {};
        for (let i = 1; i < replies.length; i += 2) checkpoints[replies[i]] = Number(replies[i + 1]);
        return { applied: false, checkpoints };
      },
      (error: unknown) => {
        throw this.failure(error);
      },
    );
  }

  /** Sends the script command by digest, and again with the script if Redis lost it (a restart, SCRIPT FLUSH). */
  private async byDigest(command: string[]): Promise<unknown> {
    try {
      return await this.client.sendCommand(command);
    } catch (error) {
      if (!(error instanceof ErrorReply && error.message.startsWith('NOSCRIPT'))) throw error;
      return this.client.sendCommand(withScript(command));
    }
  }

  async checkpoints(projections: readonly string[]): Promise<Record<string, number>> {
    const stored = await this.fields(CHECKPOINTS_KEY, projections);
    return Object.fromEntries(projections.map((p, i) => [p, Number(stored[i] ?? 0)]));
  }

  hashes(keys: readonly string[]): Promise<(Fields | null)[]> {
    return this.reads.hashes(keys);
  }

  fields(key: string, fields: readonly string[]): Promise<(string | null)[]> {
    return this.reads.fields(key, fields);
  }

  range(key: string, query: RangeQuery): Promise<string[]> {
    return this.reads.range(key, query);
  }

  counts(queries: readonly CountQuery[]): Promise<number[]> {
    return this.reads.counts(queries);
  }

  contains(key: string, members: readonly string[]): Promise<boolean[]> {
    return this.reads.contains(key, members);
  }

  fenced(projections: readonly string[], atLeast: () => number): ViewReads {
    return new RedisReads(this.namespace, (queue, atomic) => this.pipeline(queue, atomic), {
      projections,
      atLeast,
      lost: () => this.tell('dropped'),
    });
  }

  async dump(): Promise<Map<string, DumpedValue>> {
    const keys = await this.keys();
    if (keys.length === 0) return new Map();
    const types = (await this.paged(keys, (page, multi) => page.forEach((key) => multi.type(key)))) as string[];
    const contents = await this.paged(keys, (page, multi, first) =>
      page.forEach((key, i) => (types[first + i] === 'hash' ? multi.hGetAll(key) : multi.zRange(key, 0, -1))),
    );
    const dumped = new Map<string, DumpedValue>();
    keys.forEach((key, i) => {
      const relative = key.slice(this.namespace.length);
      if (types[i] === 'hash') {
        const fields = Object.entries(contents[i] as Record<string, string>).sort(([a], [b]) => (a < b ? -1 : 1));
        dumped.set(relative, { type: 'hash', fields: Object.fromEntries(fields) });
      } else {
        dumped.set(relative, { type: 'index', members: contents[i] as string[] });
      }
    });
    return new Map([...dumped].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /**
   * Live views go in one script, so that no projector's write lands between the first deletion
   * and the last: a write let in half way would leave keys behind that the replay after the drop
   * counts again. Redis serves nothing else meanwhile (about 0.7 s per million keys in the
   * database). A scratch namespace, which no projector writes, goes page by page instead, so a
   * check never holds Redis up.
   */
  async drop(): Promise<void> {
    if (!this.ownsClient) {
      await this.paged(await this.keys(), (page, multi) => multi.unlink([...page]));
      return;
    }
    const command = ['EVAL', DROP_SCRIPT, '0', `${this.namespace}*`, String(SCAN_COUNT), this.dropChannel, this.id];
    await this.guard(() => this.client.sendCommand(command), DROP_TIMEOUT_MS);
  }

  scratch(): RedisViewStore {
    const scratchNamespace = `${this.namespace.slice(0, -1)}-scratch:${randomUUID()}:`;
    return new RedisViewStore(this.client, scratchNamespace, this.where, false, this.replyTimeoutMs);
  }

  watch(listener: (state: ViewStoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (!this.ownsClient) return;
    for (const client of [this.subscriber, this.client]) {
      if (client === undefined) continue;
      if (client.isReady) await client.close();
      else client.destroy();
    }
  }

  /** Each SCAN page is a round trip of its own under the reply deadline: a whole scan of a large Redis may take longer. */
  private async keys(): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const page = await this.guard(() => this.client.scan(cursor, { MATCH: `${this.namespace}*`, COUNT: SCAN_COUNT }));
      found.push(...page.keys);
      cursor = page.cursor;
    } while (cursor !== '0');
    return found;
  }

  /** One pipeline per SCAN_COUNT keys, so each round trip stays within the reply deadline however many views there are. */
  private async paged(
    keys: readonly string[],
    queue: (page: readonly string[], multi: Multi, first: number) => void,
  ): Promise<unknown[]> {
    const replies: unknown[] = [];
    for (let first = 0; first < keys.length; first += SCAN_COUNT) {
      const page = keys.slice(first, first + SCAN_COUNT);
      replies.push(...(await this.pipeline((multi) => queue(page, multi, first))));
    }
    return replies;
  }

  /** One round trip: a pipeline, or a transaction (MULTI) when `atomic`. */
  private async pipeline(queue: Queue, atomic = false): Promise<unknown[]> {
    return this.guard(async () => {
      const multi = this.client.multi();
      queue(multi);
      return (await (atomic ? multi.exec() : multi.execAsPipeline())) as unknown[];
    });
  }

  /** One round trip (a command or a pipeline) under the reply deadline. */
  private async guard<T>(command: () => Promise<T>, timeoutMs = this.replyTimeoutMs): Promise<T> {
    try {
      return await this.answered(command(), timeoutMs);
    } catch (error) {
      throw this.failure(error);
    }
  }

  /**
   * The reply, or ViewsUnavailableError once replyTimeoutMs has passed: node-redis times a command
   * out only until it is written, so a Redis that stalls (paused, or cut off without a reset)
   * would hold every query and the projector forever. A missed reply says the store is down,
   * which stops the projector (it retries; the checkpoints make a write that lands late
   * harmless); the next answer says it is up.
   */
  private answered<T>(reply: Promise<T>, timeoutMs = this.replyTimeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.announce('down');
        reject(new ViewsUnavailableError(this.where, new Error(`no answer within ${timeoutMs} ms`)));
      }, timeoutMs);
    });
    const answer = reply.then((value) => {
      this.announce('up');
      return value;
    });
    return Promise.race([answer, late]).finally(() => clearTimeout(timer));
  }

  private announce(state: 'down' | 'up'): void {
    if (this.reachable === (state === 'up')) return;
    this.reachable = state === 'up';
    this.tell(state);
  }

  private tell(event: ViewStoreEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private failure(error: unknown): unknown {
    return unavailable(error) ? new ViewsUnavailableError(this.where, error) : error;
  }
}

interface Fence {
  readonly projections: readonly string[];
  readonly atLeast: () => number;
  /** Called when a read finds the views lost. */
  readonly lost: () => void;
}

/** The reads of a RedisViewStore, one round trip each; with a fence, each is a transaction that also reads the checkpoints. */
class RedisReads implements ViewReads {
  constructor(
    private readonly namespace: string,
    private readonly send: (queue: Queue, atomic: boolean) => Promise<unknown[]>,
    private readonly fence?: Fence,
  ) {}

  async hashes(keys: readonly string[]): Promise<(Fields | null)[]> {
    if (keys.length === 0) return [];
    const replies = await this.read((multi) => keys.forEach((key) => multi.hGetAll(this.namespace + key)));
    return replies.map((reply) => {
      const fields = reply as Record<string, string>;
      return Object.keys(fields).length === 0 ? null : { ...fields };
    });
  }

  async fields(key: string, fields: readonly string[]): Promise<(string | null)[]> {
    if (fields.length === 0) return [];
    const [values] = await this.read((multi) => multi.hmGet(this.namespace + key, [...fields]));
    return values as (string | null)[];
  }

  async range(key: string, query: RangeQuery): Promise<string[]> {
    const [from, to] = query.rev ? [query.max, query.min] : [query.min, query.max];
    const limit = query.count === undefined ? {} : { LIMIT: { offset: query.offset ?? 0, count: query.count } };
    const options = { BY: 'LEX', REV: query.rev ? true : undefined, ...limit } as const;
    const [members] = await this.read((multi) => multi.zRange(this.namespace + key, from, to, options));
    return members as string[];
  }

  async counts(queries: readonly CountQuery[]): Promise<number[]> {
    if (queries.length === 0) return [];
    const replies = await this.read((multi) => queries.forEach((q) => multi.zLexCount(this.namespace + q.key, q.min, q.max)));
    return replies.map(Number);
  }

  async contains(key: string, members: readonly string[]): Promise<boolean[]> {
    if (members.length === 0) return [];
    const [scores] = await this.read((multi) => multi.zmScore(this.namespace + key, [...members]));
    return (scores as (number | null)[]).map((score) => score !== null);
  }

  private async read(queue: Queue): Promise<unknown[]> {
    const fence = this.fence;
    if (fence === undefined) return this.send(queue, false);
    const expected = fence.atLeast();
    const replies = await this.send((multi) => {
      queue(multi);
      multi.hmGet(this.namespace + CHECKPOINTS_KEY, [...fence.projections]);
    }, true);
    const lost = lostBelow(replies.pop() as (string | null)[], expected);
    if (lost === undefined) return replies;
    fence.lost();
    throw lost;
  }
}

/** A namespace is a key prefix ending in ':' without glob characters, so SCAN MATCH finds exactly its keys. */
const checkNamespace = (namespace: string): void => {
  if (!/^[^*?[\]\\\s]+:$/.test(namespace)) {
    throw new Error(`view namespace "${namespace}" must end with ':' and contain no spaces or * ? [ ] \\ characters`);
  }
};

/** host:port/db without credentials, fit for messages. */
const describeUrl = (url: string): string => {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || '6379'}${parsed.pathname.length > 1 ? parsed.pathname : ''}`;
};
