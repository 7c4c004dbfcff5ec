import { isDeepStrictEqual } from 'node:util';
import * as E from 'fp-ts/Either';
import { Map as ImmutableMap } from 'immutable';
import { Aggregate, Message, streamOf } from '../domain/shared/aggregate';
import { decode, decodeMessage, MessageCodecs } from '../domain/shared/codec';
import { CommandEnvelope } from './command-envelope';
import { decodeAll } from './event-decoding';
import { eventIdFor } from './event-ids';
import { tokenFields } from './access/tokens';
import { Turns } from './turns';
import { invalidInput } from '../domain/shared/errors';
import { CommandError, conflict, idempotencyKeyReused, overtaken, staleRevision, storeUnavailable } from './errors';
import {
  EventIdConflictError,
  EventStore,
  NewEvent,
  RecordedEvent,
  StoreUnavailableError,
  WrongExpectedRevisionError,
} from './ports/event-store';

export type Clock = () => Date;

export interface Loaded<S> {
  readonly state: S;
  /** Last revision of the stream, -1 when it does not exist. */
  readonly revision: number;
  /** The events each command id wrote to the stream: the first answer to a repeated command. */
  readonly byCommand: ImmutableMap<string, readonly RecordedEvent[]>;
}

export type Load = <S>(aggregate: Aggregate<S, any, any, any>, id: string) => Promise<E.Either<CommandError, Loaded<S>>>;

export interface Route<S, C extends Message, Ev extends Message, D> {
  readonly aggregate: Aggregate<S, C, Ev, D>;
  /** What decide sees when it needs facts from other aggregates; by default the folded state. */
  readonly decisionState?: (state: S, command: C, load: Load) => Promise<E.Either<CommandError, D>>;
}

export interface CommandResult {
  readonly commandId: string;
  readonly streamId: string;
  readonly events: readonly Message[];
  /** Revision of the stream's last event after the command. */
  readonly revision: number;
  /** Global position of the last event the command wrote; wait for read models to reach it to read your writes. */
  readonly position: number;
  /** True when the command id had been handled before and this is the first answer again. */
  readonly replayed: boolean;
}

export interface CommandBusOptions {
  readonly clock?: Clock;
  /** How many times to decide again after another writer moved the stream (then CONFLICT). */
  readonly maxAttempts?: number;
  /** How many streams' folded states to keep between commands (least recently used go first). */
  readonly cachedStreams?: number;
}

interface CachedStream {
  readonly state: unknown;
  readonly revision: number;
  readonly byCommand: ImmutableMap<string, readonly RecordedEvent[]>;
}

/** Says nothing of the command: its arguments and target are not the sender's to learn. */
const ANOTHERS = "another principal's command";

/**
 * Whether a command id's earlier use was the same sender's: only then is the first receipt, or
 * what differs from it, the sender's to see. The platform's own tools (SYSTEM) derive their ids
 * from what they act on (destroy-<range>, consume-<range>), which the principal it concerns (the
 * kiosk, the gateway) may have sent first, or may send next: SYSTEM shares every id with everyone.
 */
const sameSender = ({ actor }: CommandEnvelope, earlier: RecordedEvent): boolean =>
  earlier.metadata.actorId === actor.id || earlier.metadata.actorRole === 'SYSTEM' || actor.role === 'SYSTEM';

/**
 * One sending of commands, such as one request of a console, marked when it reached this process:
 * another sending's write to a command's stream after the mark is a race the command lost.
 */
export interface Sending {
  /** How many writes this process had made when the sending came. */
  readonly after: number;
}

/** A stream's latest writes in this process: whose each was, and the state it was decided on. */
interface RecentWrites {
  readonly writes: { readonly write: number; readonly by: Sending; readonly stateBefore: unknown }[];
  /** The newest write no longer kept: nothing is known of the writes up to it. */
  dropped: number;
}

/** Writes kept per stream: a command that waited through more is not told it lost a race. */
const RECENT_WRITES = 8;

/**
 * Fields that say why, not what, per command: the platform itself destroys a key range under one
 * id for whichever of several causes (a failed charge, a lost device, a restart) comes first, and
 * the others must get that receipt. Elsewhere a reason may decide the outcome (BAD_PIN counts
 * towards a PIN lock), so it is compared.
 */
const DESCRIPTIVE: Readonly<Record<string, ReadonlySet<string>>> = { DestroyKeyRange: new Set(['reason']) };

/**
 * The arguments of a resent command that differ from what its first sending recorded: a field of
 * the command that the first event holding a field of that name records otherwise. Answering the
 * first receipt then would tell the console that a command it did not send took effect (a device
 * bound to another user). Arguments no event records (secrets among them) cannot be compared.
 */
const changedArguments = (command: Message, earlier: readonly RecordedEvent[]): string[] =>
  Object.entries(command.data as Readonly<Record<string, unknown>>).flatMap(([field, value]) => {
    if (DESCRIPTIVE[command.type]?.has(field)) return [];
    const recorded = earlier.find((e) => typeof e.data === 'object' && e.data !== null && field in e.data);
    if (recorded === undefined) return [];
    return isDeepStrictEqual((recorded.data as Readonly<Record<string, unknown>>)[field], value) ? [] : [field];
  });

/** Load the stream, decide, append with the expected revision: the write side of every command. */
export class CommandBus {
  // Aggregates differ in their type parameters; the bus routes them by command type at run time.
  private readonly routes = new Map<string, Route<any, Message, Message, any>>();
  private readonly commandCodecs: MessageCodecs;
  private readonly clock: Clock;
  private readonly maxAttempts: number;
  // Streams only grow, so a folded state stays true: a load reads just the events after it. Without
  // this a key pool of 10^5 ranges would be read and folded whole for every command.
  private readonly cache = new Map<string, CachedStream>();
  private readonly cachedStreams: number;
  /**
   * Runs the commands on one stream one after another, in the order they came, each decided on the
   * state the one before left. Decided side by side, all but one would find the stream moved at
   * append and decide again (a burst of 24 used up the retries), and two sendings of one command id
   * would both pass as first sendings, the store taking the second's events for a retry of the
   * first's. Streams stay concurrent, so the store still commits appends to many streams together;
   * only writers in other processes are left to the expected revision (a second sending in another
   * process at the same moment is found at append, and answered as a resend).
   */
  private readonly lanes = new Turns<string>();
  private writes = 0;
  /** The newest write of any stream dropped from recentWrites: a stream written again knows nothing before it. */
  private forgotten = 0;
  /** For the streams written most recently (as many as `cachedStreams`), see passedWhenSent. */
  private readonly recentWrites = new Map<string, RecentWrites>();

  constructor(
    private readonly store: EventStore,
    routes: readonly Route<any, any, any, any>[],
    options: CommandBusOptions = {},
  ) {
    for (const route of routes) {
      for (const type of Object.keys(route.aggregate.commandCodecs)) {
        if (this.routes.has(type)) throw new Error(`command type ${type} is routed twice`);
        this.routes.set(type, route);
      }
    }
    this.commandCodecs = Object.fromEntries([...this.routes].map(([type, r]) => [type, r.aggregate.commandCodecs[type]]));
    this.clock = options.clock ?? (() => new Date());
    this.maxAttempts = options.maxAttempts ?? 5;
    this.cachedStreams = options.cachedStreams ?? 1000;
  }

  get commandTypes(): string[] {
    return [...this.routes.keys()];
  }

  readonly load: Load = async <S>(aggregate: Aggregate<S, any, any, any>, id: string) => {
    const streamId = streamOf(aggregate, id);
    const cached = this.cache.get(streamId);
    const from = cached === undefined ? 0 : cached.revision + 1;
    const read = await this.guard(() => this.store.readStream(streamId, { fromRevision: from }));
    if (E.isLeft(read)) return read;
    const events = decodeAll<Message>(aggregate.eventCodecs, read.right);
    if (E.isLeft(events)) return events;
    // A newer load may have cached the stream meanwhile; keep whichever saw more of it.
    const latest = this.cache.get(streamId);
    if (latest !== undefined && latest !== cached && latest.revision >= from + read.right.length - 1) {
      this.touch(streamId, latest);
      return E.right({ state: latest.state as S, revision: latest.revision, byCommand: latest.byCommand });
    }
    const byCommand = (cached?.byCommand ?? ImmutableMap<string, readonly RecordedEvent[]>()).withMutations((index) => {
      for (const recorded of read.right) index.update(recorded.metadata.commandId, (earlier = []) => [...earlier, recorded]);
    });
    const loaded: CachedStream = {
      state: events.right.reduce(aggregate.evolve, (cached?.state ?? aggregate.initialState) as S),
      revision: from + read.right.length - 1,
      byCommand,
    };
    if (loaded.revision >= 0) this.touch(streamId, loaded);
    return E.right({ state: loaded.state as S, revision: loaded.revision, byCommand });
  };

  private touch(streamId: string, entry: CachedStream): void {
    this.cache.delete(streamId);
    this.cache.set(streamId, entry);
    if (this.cache.size > this.cachedStreams) this.cache.delete(this.cache.keys().next().value!);
  }

  /** Marks a sending's arrival: its commands were sent against the streams as they stand now. */
  sending(): Sending {
    return { after: this.writes };
  }

  /**
   * `admit` runs in the command's turn on its stream, before it is decided: a check that must still
   * hold then (the sender's charger not revoked meanwhile) throws to refuse it. `sent` is when the
   * command's sender reached this process (a request may wait for its body and its checks before
   * its command comes here); by default, now.
   */
  async execute(
    envelopeInput: unknown,
    commandInput: unknown,
    admit?: () => Promise<void>,
    sent: Sending = this.sending(),
  ): Promise<E.Either<CommandError, CommandResult>> {
    const envelope = decode(CommandEnvelope, envelopeInput);
    if (E.isLeft(envelope)) return envelope;
    const command = decodeMessage<Message>(this.commandCodecs, commandInput, 'command');
    if (E.isLeft(command)) return command;
    // Invariant 2 for what callers type: a token pasted into free text, or as an id, would be kept for good.
    const { commandId, correlationId, causationId } = envelope.right;
    const pasted = [...tokenFields({ commandId, correlationId, causationId }), ...tokenFields(command.right.data)];
    if (pasted.length > 0) return E.left(invalidInput(pasted));
    const route = this.routes.get(command.right.type)!;
    const target = route.aggregate.targetOf(command.right);
    const streamId = streamOf(route.aggregate, target);

    return this.lanes.run(streamId, async () => {
      await admit?.();
      for (let attempt = 1; ; attempt++) {
        const outcome = await this.attempt(route, envelope.right, command.right, streamId, sent, attempt > 1);
        if (outcome !== 'retry') return outcome;
        if (attempt >= this.maxAttempts) {
          const current = await this.load(route.aggregate, target);
          return E.isLeft(current) ? current : E.left(conflict(streamId, attempt, current.right.revision, current.right.state));
        }
        // Jittered backoff, so writers that collided do not collide again in lockstep.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** attempt));
      }
    });
  }

  private recordWrite(streamId: string, by: Sending, stateBefore: unknown): void {
    const recent = this.recentWrites.get(streamId) ?? { writes: [], dropped: this.forgotten };
    recent.writes.push({ write: ++this.writes, by, stateBefore });
    if (recent.writes.length > RECENT_WRITES) recent.dropped = recent.writes.shift()!.write;
    this.recentWrites.delete(streamId);
    this.recentWrites.set(streamId, recent);
    if (this.recentWrites.size > this.cachedStreams) {
      const [oldest, { writes }] = this.recentWrites.entries().next().value!;
      this.recentWrites.delete(oldest);
      this.forgotten = Math.max(this.forgotten, writes[writes.length - 1].write);
    }
  }

  /**
   * Whether a command the stream's state refuses would have passed on the state it had when the
   * command was sent, before another sending's write: then it lost a race (CONFLICT with the
   * state now), else it was refused by what its sender could see. A sending's own writes (a
   * request's first mutation) are its own doing: one after the other's means it acted on the change
   * already. Facts from other aggregates (a charge's device) are read as they are now. Writes no
   * longer kept count as not known: no race.
   */
  private async passedWhenSent(route: Route<any, Message, Message, any>, command: Message, streamId: string, sent: Sending): Promise<boolean> {
    const recent = this.recentWrites.get(streamId);
    if (recent === undefined || recent.dropped > sent.after) return false;
    const first = recent.writes.find((w) => w.write > sent.after && w.by !== sent);
    if (first === undefined || recent.writes.some((w) => w.write > first.write && w.by === sent)) return false;
    const then = route.decisionState ? await route.decisionState(first.stateBefore, command, this.load) : E.right(first.stateBefore);
    return E.isRight(then) && E.isRight(route.aggregate.decide(command, then.right));
  }

  private async attempt(
    route: Route<any, Message, Message, any>,
    envelope: CommandEnvelope,
    command: Message,
    streamId: string,
    sent: Sending,
    /** An earlier attempt passed its decision and lost at append to another process's write. */
    retried: boolean,
  ): Promise<E.Either<CommandError, CommandResult> | 'retry'> {
    const loaded = await this.load(route.aggregate, route.aggregate.targetOf(command));
    if (E.isLeft(loaded)) return loaded;
    const { state, revision, byCommand } = loaded.right;

    const earlier = byCommand.get(envelope.commandId);
    if (earlier !== undefined) return this.replay(envelope, command, streamId, earlier);
    const stale = envelope.expectedRevision !== undefined && envelope.expectedRevision !== revision;
    // A stream that does not exist yet is no one else's change: the decision says what is wrong.
    if (stale && revision >= 0) return E.left(staleRevision(streamId, envelope.expectedRevision!, revision, state));

    const decisionState = route.decisionState ? await route.decisionState(state, command, this.load) : E.right(state);
    if (E.isLeft(decisionState)) return decisionState;
    const decided = route.aggregate.decide(command, decisionState.right);
    if (E.isLeft(decided)) {
      const lostRace = retried || (await this.passedWhenSent(route, command, streamId, sent));
      return lostRace ? E.left(overtaken(streamId, revision, decided.left, state)) : decided;
    }
    if (stale) return E.left(staleRevision(streamId, envelope.expectedRevision!, revision, state));

    const occurredAt = this.clock().toISOString();
    const events: NewEvent[] = decided.right.map((event, index) => ({
      id: eventIdFor(envelope.commandId, index),
      type: event.type,
      data: event.data,
      metadata: {
        actorId: envelope.actor.id,
        actorRole: envelope.actor.role,
        commandId: envelope.commandId,
        commandType: command.type,
        correlationId: envelope.correlationId ?? envelope.commandId,
        causationId: envelope.causationId ?? envelope.commandId,
        occurredAt,
      },
    }));
    try {
      const appended = await this.store.append(streamId, events, revision < 0 ? 'no_stream' : revision);
      // Another process recorded this command id first: the next attempt reads its events and
      // answers as a resend of it (its receipt, or IDEMPOTENCY_KEY_REUSED when the arguments differ).
      if (appended.replayed) return 'retry';
      this.recordWrite(streamId, sent, state);
      return E.right({
        commandId: envelope.commandId,
        streamId,
        events: decided.right,
        revision: appended.nextRevision,
        position: appended.position,
        replayed: false,
      });
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError) return 'retry';
      // Event ids derive from the command id: taken in another stream, the id was used for another target.
      if (error instanceof EventIdConflictError) {
        return E.left(idempotencyKeyReused(envelope.commandId, await this.usedFor(error.usedAt, envelope), `${command.type} on ${streamId}`));
      }
      if (error instanceof StoreUnavailableError) return E.left(storeUnavailable(error.message));
      throw error;
    }
  }

  /** The earlier command whose event holds the id, as far as the store can tell: one event is read. */
  private async usedFor(usedAt: EventIdConflictError['usedAt'], envelope: CommandEnvelope): Promise<string> {
    const read =
      usedAt === undefined
        ? undefined
        : await this.guard(() => this.store.readStream(usedAt.streamId, { fromRevision: usedAt.revision, maxCount: 1 }));
    const earlier = read !== undefined && E.isRight(read) ? read.right[0] : undefined;
    if (earlier === undefined) return 'a command on another target';
    return sameSender(envelope, earlier) ? `${earlier.metadata.commandType} on ${earlier.streamId}` : ANOTHERS;
  }

  private replay(
    envelope: CommandEnvelope,
    command: Message,
    streamId: string,
    earlier: readonly RecordedEvent[],
  ): E.Either<CommandError, CommandResult> {
    if (!sameSender(envelope, earlier[0])) return E.left(idempotencyKeyReused(envelope.commandId, ANOTHERS, command.type));
    const usedBy = earlier[0].metadata.commandType;
    if (usedBy !== command.type) return E.left(idempotencyKeyReused(envelope.commandId, usedBy, command.type));
    const changed = changedArguments(command, earlier);
    if (changed.length > 0) {
      return E.left(idempotencyKeyReused(envelope.commandId, usedBy, `${command.type} with a different ${changed.join(' and ')}`));
    }
    const last = earlier[earlier.length - 1];
    return E.right({
      commandId: envelope.commandId,
      streamId,
      events: earlier.map((r) => ({ type: r.type, data: r.data })),
      revision: last.revision,
      position: last.position,
      replayed: true,
    });
  }

  private async guard<A>(io: () => Promise<A>): Promise<E.Either<CommandError, A>> {
    try {
      return E.right(await io());
    } catch (error) {
      if (error instanceof StoreUnavailableError) return E.left(storeUnavailable(error.message));
      throw error;
    }
  }
}
