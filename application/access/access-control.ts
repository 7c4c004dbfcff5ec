import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { accessStreamOf, AccessEvent } from '../../domain/access';
import { chargeAggregate } from '../../domain/charge';
import { chargerAggregate, ChargerStatus } from '../../domain/charger';
import { ANONYMOUS, PrincipalRole } from '../../domain/principal';
import { Aggregate, Message, streamOf } from '../../domain/shared/aggregate';
import { Identifier } from '../../domain/shared/types';
import { Clock, Load } from '../command-bus';
import { EventStore } from '../ports/event-store';
import { AccessCheckUnavailableError, AccessError, forbidden, unauthenticated } from './errors';
import { commandRule, CommandScope, governedAggregates, grants, grantsRead, QueryOperation, queryRule, queryTargets, Rule } from './policy';
import { Principal, PrincipalDirectory, PrincipalDirectoryOptions } from './principal-directory';
import { bearerToken, hashToken, mayHoldToken, TOKEN_PREFIX, TOKEN_TEXT_LENGTH } from './tokens';

export type { AccessError } from './errors';
export type { Principal } from './principal-directory';

export interface AccessControlOptions extends PrincipalDirectoryOptions {
  readonly clock?: Clock;
}

type Decision = E.Either<AccessError, void>;

/** The operation recorded for a command type outside the policy: the caller's text is not worth keeping. */
const UNKNOWN_COMMAND = 'unknown command type';
const UNKNOWN_QUERY = 'unknown query operation';
// Tokens are made only by the command line on the platform host, so that is where a holder is sent.
const INVALID_TOKEN =
  'the bearer token is not valid (unknown, rotated or revoked); ask whoever runs the platform for a current token ' +
  '(they make one with `qkmp admin create` or `qkmp admin rotate` on its host, with the settings of this ' +
  'server: a token made in another event log is unknown here)';
const NO_HEADER =
  'this endpoint answers only an authenticated principal: send an Authorization header "Bearer <token>" with the ' +
  'token the platform issued you (whoever runs the platform makes one with `qkmp admin create` on its host)';
const MALFORMED_HEADER =
  `the Authorization header must be "Bearer <token>" with a whole token the platform issued: ${TOKEN_PREFIX} and ` +
  `${TOKEN_TEXT_LENGTH} more letters, digits, '-' or '_'; send it in that form (a token cut short when copied fails here)`;

/** What brings a charger that is not (or no longer) attested to ATTESTED; a revoked one is refused everything. */
const UNTIL_ATTESTED: Readonly<Record<Exclude<ChargerStatus, 'ATTESTED' | 'REVOKED'>, string>> = {
  NONE: 'a SECURITY_ADMIN registers it with its golden values, then it attests itself (attestCharger)',
  REGISTERED: 'attest it first (attestCharger with the measurements of its boot chain)',
  ATTESTATION_FAILED: 'its boot chain did not match its golden values; attest it again once it boots as registered',
};

/** A charger's revocation ends all it may do, whatever its token. */
const revokedRefusal = (charger: Principal): string =>
  `charger ${charger.id} is revoked, so it may run and read nothing; a revoked charger stays revoked: register the ` +
  'kiosk again under a new charger id and make it a principal of its own (`qkmp admin create --role CHARGER --id ID`)';

type AnyAggregate = Aggregate<unknown, Message, Message, unknown>;

const aggregateOf = new Map<string, AnyAggregate>(
  governedAggregates.flatMap((aggregate) =>
    Object.keys(aggregate.commandCodecs).map((type) => [type, aggregate as AnyAggregate]),
  ),
);

/** What is recorded of the id a request names: an identifier, never text that might be a secret. */
const recordable = (id: unknown): string | null => (Identifier.is(id) && !mayHoldToken(id) ? id : null);

const fieldOf = (data: unknown, field: string): unknown =>
  typeof data === 'object' && data !== null ? (data as Readonly<Record<string, unknown>>)[field] : undefined;

/** The stream a command addresses as recorded, read from its data even when another field of it is malformed. */
const targetOf = (input: { type: string; data: unknown }): string | null => {
  const aggregate = aggregateOf.get(input.type);
  if (aggregate === undefined || typeof input.data !== 'object' || input.data === null) return null;
  const id = recordable(aggregate.targetOf(input as Message));
  return id === null ? null : streamOf(aggregate, id);
};

const article = (role: PrincipalRole): string => `${role === 'AUDITOR' ? 'an' : 'a'} ${role}`;

/** How to get the request through, for what `verb`s it (`run` a command, `read` a query); phrased to follow "; ". */
const advice = (rule: Rule | undefined, verb: 'run' | 'read'): string => {
  if (rule === undefined) {
    return `no role may ${verb} it; check the ${verb === 'run' ? 'command type' : 'operation name'}`;
  }
  if (rule.roles.length === 0) return 'no token may run it; only the command line on the platform host does';
  return `send an Authorization: Bearer token of ${rule.roles.map(article).join(' or ')}`;
};

/**
 * Who is asking (authenticate) and whether they may (authorize). Every refusal is recorded as an
 * AccessDenied event so the audit shows it; the caller learns what to send instead, nothing more.
 * Throws AccessCheckUnavailableError when a check cannot read the state it needs.
 */
export class AccessControl {
  private constructor(
    private readonly store: EventStore,
    private readonly load: Load,
    private readonly directory: PrincipalDirectory,
    private readonly clock: Clock,
  ) {}

  /** `load` is the command bus's, so "only as itself" checks see chargers and charges as commands do. */
  static async open(store: EventStore, load: Load, options: AccessControlOptions = {}): Promise<AccessControl> {
    const directory = await PrincipalDirectory.open(store, options);
    return new AccessControl(store, load, directory, options.clock ?? (() => new Date()));
  }

  /**
   * The principal of a token known to work, without reading the log or recording anything: what
   * every request with a current token takes. Undefined for anything else, which `authenticate`
   * then decides on.
   */
  recognise(authorizationHeader: string): Principal | undefined {
    const token = bearerToken(authorizationHeader);
    if (token === undefined) return undefined;
    const found = this.directory.lookup(hashToken(token));
    return found.status === 'active' ? found.principal : undefined;
  }

  /** A request without an Authorization header is refused like a bad token: nothing is served without a principal. */
  async authenticate(authorizationHeader: string | undefined): Promise<E.Either<AccessError, Principal>> {
    if (authorizationHeader === undefined) return this.deny(null, 'authenticate', null, unauthenticated(NO_HEADER));
    const token = bearerToken(authorizationHeader);
    if (token === undefined) return this.deny(null, 'authenticate', null, unauthenticated(MALFORMED_HEADER));
    const tokenHash = hashToken(token);
    let found = this.directory.lookup(tokenHash);
    // Unknown tokens are few (the refused-token limit bounds them per address): each may cost a read.
    if (found.status === 'unknown') {
      await this.directory.refresh();
      found = this.directory.lookup(tokenHash);
    }
    switch (found.status) {
      case 'active':
        return E.right(found.principal);
      case 'retired':
        // Recorded under its former holder: the audit should see an old token still in use.
        return this.deny(found.principal, 'authenticate', null, unauthenticated(INVALID_TOKEN));
      case 'unknown':
        return this.deny(null, 'authenticate', null, unauthenticated(INVALID_TOKEN));
    }
  }

  async authorizeCommand(principal: Principal | null, command: { type: string; data: unknown }): Promise<Decision> {
    const rule = commandRule(command.type);
    const operation = rule === undefined ? UNKNOWN_COMMAND : command.type;
    const deny = (error: AccessError) => this.deny(principal, operation, targetOf(command), error);

    if (principal === null) return deny(unauthenticated(`${operation} needs a principal; ${advice(rule, 'run')}`));
    // Authenticated when the request came; revoked since (a command waits its turn on a stream), it is refused.
    if (!this.directory.isActive(principal.id)) return deny(unauthenticated(INVALID_TOKEN));
    if (rule === undefined || !grants(rule, principal.role)) {
      return deny(forbidden(`${article(principal.role)} may not run ${operation}; ${advice(rule, 'run')}`));
    }
    if (principal.role !== 'CHARGER') return E.right(undefined);
    const status = await this.chargerStatus(principal);
    if (status === 'REVOKED') return deny(forbidden(revokedRefusal(principal)));
    if (!('asItself' in rule)) return E.right(undefined);
    // Checked before the command's own rules, so that their answers (a field out of range, a
    // charge's state) tell a charger nothing of what is not its own.
    const refusal = await this.asItself(principal, status, rule.asItself, command);
    return refusal === undefined ? E.right(undefined) : deny(forbidden(refusal));
  }

  async authorizeQuery(principal: Principal | null, operation: string, target?: string): Promise<Decision> {
    const rule = queryRule(operation);
    const recorded = rule === undefined ? UNKNOWN_QUERY : operation;
    const id = recordable(target);
    const aggregate = rule === undefined ? undefined : queryTargets[operation as QueryOperation];
    const deny = (error: AccessError) =>
      this.deny(principal, recorded, id !== null && aggregate !== undefined ? streamOf(aggregate, id) : id, error);

    if (principal === null) {
      return deny(unauthenticated(`reading ${recorded} needs a principal; ${advice(rule, 'read')}`));
    }
    if (rule === undefined || !grants(rule, principal.role)) {
      return deny(forbidden(`${article(principal.role)} may not read ${recorded}; ${advice(rule, 'read')}`));
    }
    if (principal.role === 'CHARGER' && (await this.chargerStatus(principal)) === 'REVOKED') {
      return deny(forbidden(revokedRefusal(principal)));
    }
    if (!grantsRead(rule, principal, target)) {
      return deny(forbidden(`a charger may read only its own ${operation} view: ask for ${operation} ${principal.id}`));
    }
    return E.right(undefined);
  }

  /**
   * Whether the header still carries the principal's working token, as this process knows now: no
   * read and nothing recorded, so it can be asked again at any moment (an open connection's token).
   */
  holdsToken(principal: Principal, authorizationHeader: string): boolean {
    return this.recognise(authorizationHeader)?.id === principal.id;
  }

  /**
   * Calls `listener` with the principal as soon as this process applies the revocation or
   * rotation of one of its tokens, before it applies any later event. Returns its removal.
   */
  onTokenRetired(listener: (principal: Principal) => void): () => void {
    return this.directory.onTokenRetired(listener);
  }

  /** Resolves once the principals cache has applied every event up to this global position. */
  caughtUpTo(position: number): Promise<void> {
    return this.directory.caughtUpTo(position);
  }

  close(): Promise<void> {
    return this.directory.close();
  }

  /**
   * The status of the charger a CHARGER principal is. Revoking a charger leaves its principal to the
   * host's command line, so every request of a charger reads its stream: a revocation holds from its
   * append on, in every process, with no second write that a crash could lose.
   */
  private async chargerStatus(charger: Principal): Promise<ChargerStatus> {
    return (await this.loaded(chargerAggregate, charger.id)).status;
  }

  /** Why the charger may not send this command, or undefined when the command is its own. */
  private async asItself(
    charger: Principal,
    status: Exclude<ChargerStatus, 'REVOKED'>,
    scope: CommandScope,
    command: { type: string; data: unknown },
  ): Promise<string | undefined> {
    // Read from the raw data, as the command may be malformed elsewhere. A scope field that is no
    // identifier names nothing of anyone's: the command bus refuses it, naming the field.
    const [chargerId, chargeId, serial] = ['chargerId', 'chargeId', 'serial'].map((field) => fieldOf(command.data, field));
    const onlyOwn = (what: string) => `charger ${charger.id} may run ${command.type} only for ${what}`;
    const notItself = `${onlyOwn('itself')}; send data.chargerId "${charger.id}"`;
    const notStarted = `${onlyOwn('charges it started')}; charge ${String(chargeId)} is not one of them`;
    switch (scope) {
      case 'chargerId':
        return !Identifier.is(chargerId) || chargerId === charger.id ? undefined : notItself;
      case 'ownCharge':
        return !Identifier.is(chargeId) || (await this.startedBy(chargeId, charger.id)) ? undefined : notStarted;
      case 'chargingDevice': {
        if (Identifier.is(chargerId) && chargerId !== charger.id) return notItself;
        if (status !== 'ATTESTED') {
          return `${onlyOwn('devices it charges while it is ATTESTED')}; it is ${status}: ${UNTIL_ATTESTED[status]}`;
        }
        if (!Identifier.is(chargeId)) return undefined;
        const charge = await this.loaded(chargeAggregate, chargeId);
        if (charge.status === 'NONE' || charge.chargerId !== charger.id) return notStarted;
        if (charge.deviceSerial !== serial) {
          return `${onlyOwn('the device its charge names')}; charge ${chargeId} charges ${charge.deviceSerial}, not ${String(serial)}`;
        }
        if (charge.status !== 'STARTED') {
          return (
            `${onlyOwn('a charge that is checking its device')} (STARTED, before recordChargeDeviceVerification); ` +
            `charge ${chargeId} is ${charge.status}: start a new charge to check the device again`
          );
        }
        return undefined;
      }
    }
  }

  private async startedBy(chargeId: string, chargerId: string): Promise<boolean> {
    const charge = await this.loaded(chargeAggregate, chargeId);
    return charge.status !== 'NONE' && charge.chargerId === chargerId;
  }

  private async loaded<S>(aggregate: Aggregate<S, any, any, any>, id: string): Promise<S> {
    const loaded = await this.load(aggregate, id);
    if (E.isLeft(loaded)) throw new AccessCheckUnavailableError(loaded.left);
    return loaded.right.state;
  }

  private async deny(
    principal: Principal | null,
    operation: string,
    target: string | null,
    error: AccessError,
  ): Promise<E.Either<AccessError, never>> {
    const principalId = principal?.id ?? null;
    const role = principal?.role ?? null;
    const data = { principalId, role, operation, target, reason: error.code };
    const event: AccessEvent = { type: 'AccessDenied', data };
    const id = randomUUID();
    const metadata = {
      actorId: principalId ?? ANONYMOUS,
      actorRole: role ?? 'ANONYMOUS',
      commandId: id,
      commandType: event.type,
      correlationId: id,
      causationId: id,
      occurredAt: this.clock().toISOString(),
    };
    await this.store.append(accessStreamOf(principalId), [{ id, ...event, metadata }], 'any');
    return E.left(error);
  }
}
