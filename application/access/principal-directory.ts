import * as E from 'fp-ts/Either';
import { streamOf } from '../../domain/shared/aggregate';
import { principalAggregate, PrincipalEvent, PrincipalRole, PrincipalState } from '../../domain/principal';
import { decodeRecorded } from '../event-decoding';
import { EventStore, RecordedEvent, Subscription } from '../ports/event-store';

/** Who made a request, once their token is recognised. */
export interface Principal {
  readonly id: string;
  readonly name: string;
  readonly role: PrincipalRole;
}

/** What a token hash names: a working token, one that was rotated away or revoked, or nothing. */
export type TokenLookup =
  | { readonly status: 'active'; readonly principal: Principal }
  | { readonly status: 'retired'; readonly principal: Principal }
  | { readonly status: 'unknown' };

export interface PrincipalDirectoryOptions {
  /** Told when the subscription stops or a principal event cannot be read. */
  readonly onError?: (error: Error) => void;
  /** Wait before subscribing again after the subscription stopped; default 1000 ms. */
  readonly resubscribeMs?: number;
}

const PAGE_SIZE = 500;
const STREAM_PREFIX = streamOf(principalAggregate, '');

interface Waiter {
  readonly position: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Principals by token hash, kept in this process and fed by the event store, so authentication
 * needs no read model and no network hop. Writes of other processes (the command line) arrive
 * with the store's subscription, within its poll period; a token not known yet is looked for in
 * the log before it is refused.
 */
export class PrincipalDirectory {
  private readonly states = new Map<string, PrincipalState>();
  private readonly active = new Map<string, Principal>();
  private readonly retired = new Map<string, Principal>();
  private position = 0;
  private readsStarted = 0;
  private readsDone = 0;
  private reading?: Promise<void>;
  private waiters: Waiter[] = [];
  private readonly retiredListeners = new Set<(principal: Principal) => void>();
  private subscription?: Subscription;
  private resubscribeTimer?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly store: EventStore,
    private readonly options: PrincipalDirectoryOptions,
  ) {}

  /** Reads the log up to its end before resolving, so a token that exists now is known at once. */
  static async open(store: EventStore, options: PrincipalDirectoryOptions = {}): Promise<PrincipalDirectory> {
    const directory = new PrincipalDirectory(store, options);
    await directory.refresh();
    directory.subscribe();
    return directory;
  }

  /**
   * Reads the log past what the subscription has brought, so a token another process (the command
   * line) made a moment ago is known now rather than at the next poll. Callers share reads: each
   * waits for one that began after it asked, which sees every event appended before, and all who
   * ask while a read runs share the next one.
   */
  async refresh(): Promise<void> {
    const needed = this.readsStarted + 1;
    while (this.readsDone < needed) {
      this.reading ??= this.readTail();
      await this.reading;
    }
  }

  private async readTail(): Promise<void> {
    const started = ++this.readsStarted;
    try {
      for (;;) {
        const page = await this.store.readAll({ after: this.position, maxCount: PAGE_SIZE });
        page.forEach((event) => this.apply(event));
        if (page.length < PAGE_SIZE) return;
      }
    } finally {
      this.readsDone = Math.max(this.readsDone, started);
      this.reading = undefined;
    }
  }

  /** Whether the principal is ACTIVE as far as this process has applied the log. */
  isActive(principalId: string): boolean {
    return this.states.get(principalId)?.status === 'ACTIVE';
  }

  /**
   * A Map lookup by digest needs no constant-time comparison: its timing can only tell bits of the
   * SHA-256 of the caller's own guess, and a stored digest does not help to find a token anyway.
   */
  lookup(tokenHash: string): TokenLookup {
    const active = this.active.get(tokenHash);
    if (active !== undefined) return { status: 'active', principal: active };
    const retired = this.retired.get(tokenHash);
    return retired === undefined ? { status: 'unknown' } : { status: 'retired', principal: retired };
  }

  /**
   * Calls `listener` with the principal each time one of its tokens stops working (revoked,
   * rotated away, or an unreadable event), as the event is applied: lookups already see the token
   * retired. Returns the listener's removal.
   */
  onTokenRetired(listener: (principal: Principal) => void): () => void {
    this.retiredListeners.add(listener);
    return () => this.retiredListeners.delete(listener);
  }

  /** Resolves once every event up to this global position has been applied. */
  caughtUpTo(position: number): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the principal directory is closed'));
    if (this.position >= position) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ position, resolve, reject }));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.resubscribeTimer);
    for (const waiter of this.waiters) waiter.reject(new Error('the principal directory was closed'));
    this.waiters = [];
    await this.subscription?.close();
  }

  private subscribe(): void {
    this.subscription = this.store.subscribe({
      after: this.position,
      onEvent: (event) => this.apply(event),
      onError: (error) => {
        this.options.onError?.(error);
        if (this.closed) return;
        this.resubscribeTimer = setTimeout(() => this.subscribe(), this.options.resubscribeMs ?? 1000);
        this.resubscribeTimer.unref();
      },
    });
  }

  private apply(recorded: RecordedEvent): void {
    // A refresh and the subscription may both bring an event.
    if (recorded.position <= this.position) return;
    if (recorded.streamId.startsWith(STREAM_PREFIX)) this.applyPrincipalEvent(recorded);
    this.position = recorded.position;
    if (this.waiters.length === 0) return;
    const reached = this.waiters.filter((waiter) => waiter.position <= this.position);
    this.waiters = this.waiters.filter((waiter) => waiter.position > this.position);
    reached.forEach((waiter) => waiter.resolve());
  }

  private applyPrincipalEvent(recorded: RecordedEvent): void {
    const principalId = recorded.streamId.slice(STREAM_PREFIX.length);
    const before = this.states.get(principalId) ?? principalAggregate.initialState;
    const decoded = decodeRecorded<PrincipalEvent>(principalAggregate.eventCodecs, recorded);
    let after: PrincipalState;
    if (E.isLeft(decoded)) {
      // An event this build cannot read might be a revocation: fail closed, the principal's token stops working.
      this.options.onError?.(new Error(decoded.left.message));
      after = { ...before, status: before.status === 'NONE' ? 'NONE' : 'REVOKED' };
    } else {
      after = principalAggregate.evolve(before, decoded.right);
    }
    this.states.set(principalId, after);
    this.index(before, after);
  }

  /** Retires the token the principal had and makes the one it has now work, if it is active. */
  private index(before: PrincipalState, after: PrincipalState): void {
    const previous = workingToken(before);
    if (previous !== undefined) {
      this.active.delete(previous.hash);
      this.retired.set(previous.hash, previous.principal);
    }
    const current = workingToken(after);
    if (current !== undefined) {
      this.retired.delete(current.hash);
      this.active.set(current.hash, current.principal);
    }
    if (previous !== undefined) this.retiredListeners.forEach((listener) => this.tell(listener, previous.principal));
  }

  /** A listener that throws must not stop the directory applying the log. */
  private tell(listener: (principal: Principal) => void, principal: Principal): void {
    try {
      listener(principal);
    } catch (error) {
      this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
    }
  }
}

const workingToken = (state: PrincipalState): { hash: string; principal: Principal } | undefined => {
  const { status, principalId, name, role, tokenHash } = state;
  if (status !== 'ACTIVE' || principalId === undefined || name === undefined || role === undefined) return undefined;
  return tokenHash === undefined ? undefined : { hash: tokenHash, principal: { id: principalId, name, role } };
};
