import { createHmac } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { keyPoolAggregate, KeyPoolState, rangeOf, RangeStatus } from '../../domain/keypool';
import { Actor } from '../command-envelope';
import { CommandBus, CommandResult } from '../command-bus';
import { CommandError } from '../errors';
import { KeyVault } from '../ports/key-vault';
import { Turns } from '../turns';

type Outcome<A> = Promise<E.Either<CommandError, A>>;

/** A keyed commitment: proves later which bytes an event meant, and reveals nothing of them. */
export const commitmentOf = (key: Buffer, label: string, material: Uint8Array): string =>
  createHmac('sha256', key).update(label).update('\0').update(material).digest('hex');

export interface TakenRange {
  readonly sourceId: string;
  readonly rangeId: string;
  readonly offset: number;
  readonly length: number;
  readonly material: Buffer;
}

/** Rounds of the bus's attempts a pool command gets against another process's writes. */
const POOL_ROUNDS = 4;

const outlastedAttempts = (error: CommandError): boolean => error.code === 'CONFLICT' && error.details?.attempts !== undefined;

/**
 * Within a process a pool's commands take turns, so a pool that kept changing through all the bus's
 * attempts was moved by another process writing the same log; the bus's words ("another console")
 * would blame the wrong party. Other CONFLICTs (a command overtaken by one ahead of it, a stale
 * expected revision) keep the bus's words, which say what changed.
 */
const fromAnotherProcess = (sourceId: string, error: CommandError): CommandError =>
  outlastedAttempts(error)
    ? {
        ...error,
        message:
          `key pool ${sourceId} kept changing while this command was decided: another platform process is ` +
          'writing the same key pool (a second server, or qkmp keys on this host); send the request again',
      }
    : error;

/**
 * The key pool with its bytes: the log says where every byte is in its life, the vault holds the
 * bytes. Bytes are shredded before the log says so, so the log never claims a destruction that did
 * not happen; a crash in between leaves bytes the log still counts but nobody can read.
 *
 * Every command of a pool writes its one stream. Sent at once by many kiosks, they would make each
 * other decide again and again until the bus gave up with CONFLICT; so within this process they
 * queue per pool, and a slow step outside the log (reading the vault) keeps no one waiting.
 */
export class KeyPool {
  private readonly turns = new Turns<string>();

  constructor(
    private readonly bus: CommandBus,
    private readonly vault: KeyVault,
    /** HMAC key of the commitments that events carry instead of key. */
    private readonly commitmentKey: Buffer,
  ) {}

  state(sourceId: string): Outcome<{ state: KeyPoolState; revision: number }> {
    return this.bus.load(keyPoolAggregate, sourceId);
  }

  /**
   * Why the vault cannot be this log's, or undefined. A pool's available bytes are taken into ranges
   * whole and never shredded, so a vault holding fewer of the pool's bytes than the log counts
   * available is another log's, or a new, empty file (an event store address written another way
   * names another one). Filling or recovering through it would shred or lose what the log counts.
   */
  async vaultMismatch(sourceId: string): Promise<string | undefined> {
    const pool = await this.state(sourceId);
    if (E.isLeft(pool)) return undefined;
    const { available } = pool.right.state.balance;
    const held = await this.vault.held(sourceId);
    if (held >= available) return undefined;
    return (
      `it holds ${held} bytes of key pool ${sourceId}, where the log counts ${available} available: it is not this log's vault. ` +
      'QKMP_EVENT_STORE written another way (another host name for the same database) names another vault file: ' +
      "set QKMP_EVENT_STORE as before, or QKMP_VAULT_FILE to the file that holds this log's key"
    );
  }

  commitment(label: string, material: Uint8Array): string {
    return commitmentOf(this.commitmentKey, label, material);
  }

  /**
   * Stores a block in the vault at the pool's next offset, then records it. The caller holds the
   * source's ingest lock; a lost race (another writer moved the pool) puts the block further on.
   */
  ingest(actor: Actor, sourceId: string, block: { blockId: string; key: Buffer; qber: number }): Outcome<CommandResult> {
    return this.inTurn(sourceId, () => this.ingestNow(actor, sourceId, block));
  }

  private async ingestNow(actor: Actor, sourceId: string, block: { blockId: string; key: Buffer; qber: number }): Outcome<CommandResult> {
    for (let attempt = 1; ; attempt++) {
      const pool = await this.state(sourceId);
      if (E.isLeft(pool)) return pool;
      const offset = pool.right.state.balance.ingested;
      await this.vault.store(sourceId, offset, block.key);
      const result = await this.bus.execute(
        { commandId: `ingest-${block.blockId}`, actor, ...(pool.right.revision >= 0 && { expectedRevision: pool.right.revision }) },
        {
          type: 'IngestKeyMaterial',
          data: {
            sourceId,
            blockId: block.blockId,
            length: block.key.length,
            qber: block.qber,
            commitment: this.commitment(`${sourceId}/${block.blockId}`, block.key),
          },
        },
      );
      if (E.isRight(result)) {
        const recorded = result.right.events[0].data as { offset: number };
        // Only a writer outside the lock could make the log place the block elsewhere.
        if (recorded.offset !== offset) throw new Error(`block ${block.blockId} was recorded at ${recorded.offset}, stored at ${offset}`);
        return result;
      }
      await this.vault.discardFrom(sourceId, offset);
      if (result.left.code !== 'CONFLICT' || attempt >= 5) return result;
    }
  }

  /** Records a block that is not key (its bytes never reach the vault). */
  discarded(actor: Actor, sourceId: string, blockId: string, reason: string): Outcome<CommandResult> {
    return this.execute(sourceId, `discard-${blockId}`, actor, {
      type: 'RecordKeyBlockDiscarded',
      data: { sourceId, blockId, reason: reason.slice(0, 200) },
    });
  }

  /**
   * Reserves a range for `reservedFor` (a charge or a key request) and reads its bytes. If the bytes
   * cannot be read, the range is destroyed at once: it is never handed out twice, nor half.
   */
  async take(
    actor: Actor,
    sourceId: string,
    rangeId: string,
    length: number,
    reservedFor: string,
    /** Checked again when the reservation's turn on the pool comes (see CommandBus.execute). */
    admit?: () => Promise<void>,
  ): Outcome<TakenRange> {
    const reserved = await this.execute(
      sourceId,
      `reserve-${rangeId}`,
      actor,
      { type: 'ReserveKeyRange', data: { sourceId, rangeId, length, chargeId: reservedFor } },
      admit,
    );
    if (E.isLeft(reserved)) return reserved;
    const { offset } = reserved.right.events[0].data as { offset: number };
    try {
      await this.vault.carve(sourceId, offset, length);
      return E.right({ sourceId, rangeId, offset, length, material: await this.vault.read(sourceId, offset, length) });
    } catch (error) {
      const destroyed = await this.destroy(actor, sourceId, rangeId, `its key could not be read: ${(error as Error).name}`);
      if (E.isLeft(destroyed)) return destroyed;
      throw error;
    }
  }

  issue(actor: Actor, sourceId: string, rangeId: string, holder: string): Outcome<CommandResult> {
    return this.execute(sourceId, `issue-${rangeId}`, actor, { type: 'IssueKeyRange', data: { sourceId, rangeId, deviceSerial: holder } });
  }

  /** Suspends an issued range; `commandId` names the cause, as a range may be frozen more than once. */
  freeze(actor: Actor, sourceId: string, rangeId: string, reason: string, commandId: string): Outcome<CommandResult> {
    return this.execute(sourceId, commandId, actor, { type: 'FreezeKeyRange', data: { sourceId, rangeId, reason: reason.slice(0, 200) } });
  }

  restore(actor: Actor, sourceId: string, rangeId: string, commandId: string): Outcome<CommandResult> {
    return this.execute(sourceId, commandId, actor, { type: 'RestoreKeyRange', data: { sourceId, rangeId } });
  }

  /** Crypto-shreds a range, then records its destruction. */
  async destroy(actor: Actor, sourceId: string, rangeId: string, reason: string): Outcome<CommandResult> {
    return this.shredThen(actor, sourceId, rangeId, ['RESERVED', 'ISSUED', 'FROZEN', 'CONSUMED'], `destroy-${rangeId}`, {
      type: 'DestroyKeyRange',
      data: { sourceId, rangeId, reason: reason.slice(0, 200) },
    });
  }

  /** A range whose every key reached both its ends: shredded, then recorded as consumed. */
  async consume(actor: Actor, sourceId: string, rangeId: string): Outcome<CommandResult> {
    return this.shredThen(actor, sourceId, rangeId, ['ISSUED'], `consume-${rangeId}`, { type: 'ConsumeKeyRange', data: { sourceId, rangeId } });
  }

  /** Shreds part of a range (one delivered key) ahead of the range's own end. */
  shred(sourceId: string, offset: number, length: number): Promise<void> {
    return this.vault.destroy(sourceId, offset, length);
  }

  read(sourceId: string, offset: number, length: number): Promise<Buffer> {
    return this.vault.read(sourceId, offset, length);
  }

  /** Whether any byte of the range is still in the vault. */
  holds(sourceId: string, offset: number, length: number): Promise<boolean> {
    return this.vault.holdsAny(sourceId, offset, length);
  }

  /**
   * After a crash: a range still RESERVED may have left the platform half-delivered, so it is
   * destroyed, never reissued. Only ranges reserved before `reservedBefore` (by default, all): a
   * delivery takes milliseconds, so one reserved a while ago was stranded, while a recent one may
   * be another process's delivery under way.
   */
  async recover(actor: Actor, sourceId: string, reservedBefore?: Date): Outcome<readonly string[]> {
    const pool = await this.bus.load(keyPoolAggregate, sourceId);
    if (E.isLeft(pool)) return pool;
    const { state, byCommand } = pool.right;
    const reservedAt = (rangeId: string) => Date.parse(byCommand.get(`reserve-${rangeId}`)?.[0].metadata.occurredAt ?? '');
    // A reservation whose time cannot be read counts as old.
    const stale = (rangeId: string) => reservedBefore === undefined || !(reservedAt(rangeId) >= reservedBefore.getTime());
    const stranded = [...state.ranges.values()].filter((r) => r.status === 'RESERVED' && stale(r.rangeId)).map((r) => r.rangeId);
    for (const rangeId of stranded) {
      const destroyed = await this.destroy(actor, sourceId, rangeId, 'reserved when the platform stopped: destroyed, never reissued');
      if (E.isLeft(destroyed)) return destroyed;
    }
    return E.right(stranded);
  }

  /** Ingestions that never reached the log left bytes past the pool's end: shred them. Hold the ingest lock. */
  discardUnrecorded(sourceId: string): Promise<void> {
    return this.turns.run(sourceId, async () => {
      const pool = await this.state(sourceId);
      if (E.isRight(pool)) await this.vault.discardFrom(sourceId, pool.right.state.balance.ingested);
    });
  }

  /** Shreds only from the states the command is allowed from, so a refused command destroys nothing. */
  private shredThen(
    actor: Actor,
    sourceId: string,
    rangeId: string,
    from: readonly RangeStatus[],
    commandId: string,
    command: { type: string; data: unknown },
  ): Outcome<CommandResult> {
    return this.inTurn(sourceId, async () => {
      const pool = await this.state(sourceId);
      if (E.isLeft(pool)) return pool;
      const range = rangeOf(pool.right.state, rangeId);
      if (range !== undefined && from.includes(range.status)) await this.vault.destroy(sourceId, range.offset, range.length);
      return this.bus.execute({ commandId, actor }, command);
    });
  }

  private execute(
    sourceId: string,
    commandId: string,
    actor: Actor,
    command: { type: string; data: unknown },
    admit?: () => Promise<void>,
  ): Outcome<CommandResult> {
    return this.inTurn(sourceId, () => this.bus.execute({ commandId, actor }, command, admit));
  }

  /**
   * Runs `work` in its turn on the pool. A pool that kept changing through all the bus's attempts
   * was moved by another process's kiosks: a few more rounds, further apart, let both through
   * rather than fail a charge half delivered. An outlasted attempt wrote nothing, so it is safe to repeat.
   */
  private async inTurn<A>(sourceId: string, work: () => Outcome<A>): Outcome<A> {
    for (let round = 1; ; round++) {
      const result = await this.turns.run(sourceId, work);
      if (E.isRight(result) || !outlastedAttempts(result.left) || round >= POOL_ROUNDS) {
        return E.mapLeft((error: CommandError) => fromAnotherProcess(sourceId, error))(result);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * 2 ** round));
    }
  }
}
