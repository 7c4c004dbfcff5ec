import { randomBytes, randomUUID } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { AccessControl, createPrincipal } from '../../../application/access';
import { CommandBus, CommandResult } from '../../../application/command-bus';
import { AuditVerification, EventStore } from '../../../application/ports/event-store';
import { commandRoutes } from '../../../application/routes';
import { PrincipalRole } from '../../../domain/principal';
import { ApiDeps } from '../../../api/context';
import { ApiServer, ApiServerOptions, createApiServer } from '../../../api/server';
import { InMemoryEventStore } from '../../../infrastructure/event-store/memory';
import { SqliteKeyVault } from '../../../infrastructure/keys/sqlite-key-vault';
import { KeyPool } from '../../../application/keypool/key-pool';
import { chargeKeyDelivery } from '../../../application/charge/deliver-keys';
import { COMMITMENT, FINGERPRINT as credentialFingerprint, GOLDEN } from './fixtures';
import { startViews, Views } from './views';

export type Caller = PrincipalRole | null;
export const ROLES: readonly PrincipalRole[] = ['SECURITY_ADMIN', 'USER_ADMIN', 'AUDITOR', 'CHARGER', 'GATEWAY'];
export const CALLERS: readonly Caller[] = [...ROLES, null];

type Tokens = Readonly<Record<PrincipalRole, string>>;

export type DeviceStage = 'INITIALIZED' | 'DISTRIBUTED' | 'ACTIVE' | 'LOST' | 'FROZEN' | 'PIN_LOCKED';
export type ChargeStage = 'STARTED' | 'VERIFIED' | 'DELIVERED';
export type RangeStage = 'RESERVED' | 'ISSUED' | 'FROZEN';

export interface GraphQLResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: {
    data?: Record<string, any> | null;
    errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[];
  };
}

export interface PlatformOptions extends ApiServerOptions {
  /** Replaces parts of the platform the API sees, e.g. a read model that fails. */
  readonly override?: (deps: ApiDeps, store: EventStore) => ApiDeps;
  /** The command bus's clock. */
  readonly clock?: () => Date;
  readonly auditVerify?: () => Promise<AuditVerification>;
  readonly store?: EventStore;
}

const BYTES = 1024;

/** Every aggregate, principals included: the tests create them through the bus as the command line would. */
export const routes = commandRoutes;

/**
 * The real platform behind a real HTTP server on the loopback: event store, command bus with every
 * aggregate, access control with one principal per role, the read models and their projector.
 */
export class Platform {
  private counter = 0;
  readonly kiosk = 'kiosk-1';
  private constructor(
    readonly store: EventStore,
    readonly bus: CommandBus,
    readonly access: AccessControl,
    readonly views: Views,
    readonly server: ApiServer,
    readonly url: string,
    readonly tokens: Tokens,
    /** Principal ids by role. */
    readonly ids: Tokens,
    /** The key pool and its vault: key ingested here is real, so charges can deliver it. */
    readonly keyPool: KeyPool,
    private readonly vault: SqliteKeyVault,
  ) {}

  static async start(options: PlatformOptions = {}): Promise<Platform> {
    const store = options.store ?? new InMemoryEventStore();
    const bus = new CommandBus(store, routes, { clock: options.clock });
    const access = await AccessControl.open(store, bus.load);
    const tokens: Partial<Record<PrincipalRole, string>> = {};
    const ids: Partial<Record<PrincipalRole, string>> = {};
    let position = 0;
    for (const role of ROLES) {
      const issued = await createPrincipal(bus, {
        name: `${role} console`,
        role,
        ...(role === 'CHARGER' && { principalId: 'kiosk-1' }),
      });
      if (E.isLeft(issued)) throw new Error(issued.left.message);
      tokens[role] = issued.right.token;
      ids[role] = issued.right.principalId;
      position = issued.right.position;
    }
    await access.caughtUpTo(position);
    const views = await startViews(store);
    const vault = SqliteKeyVault.open(':memory:', randomBytes(32));
    const keyPool = new KeyPool(bus, vault, randomBytes(32));
    const deps: ApiDeps = {
      charging: chargeKeyDelivery(bus, keyPool),
      bus,
      readModels: views.readModels,
      access,
      store,
      changes: views.projector,
      auditVerify: options.auditVerify ?? (async () => ({ ok: true, checked: 0, firstBadPosition: null, reason: null, since: null, head: null })),
    };
    const server = await createApiServer(options.override ? options.override(deps, store) : deps, {
      log: () => undefined,
      ...options,
    });
    const url = await server.listen(0, '127.0.0.1');
    const platform = new Platform(store, bus, access, views, server, url, tokens as Tokens, ids as Tokens, keyPool, vault);
    await platform.system('RegisterCharger', { chargerId: platform.kiosk, location: 'Substation 1', golden: GOLDEN });
    await platform.system('AttestCharger', { chargerId: platform.kiosk, measurements: GOLDEN });
    return platform;
  }

  get wsUrl(): string {
    return this.url.replace(/^http/, 'ws');
  }

  async close(): Promise<void> {
    await this.server.close();
    await this.views.close();
    await this.access.close();
    await this.vault.close();
    await this.store.close();
  }

  /** Sends a GraphQL request with the token of a role, a token of the test's own, or none. */
  async gql(
    query: string,
    variables: Record<string, unknown> = {},
    caller: Caller | { readonly token: string } = null,
  ): Promise<GraphQLResponse> {
    const token = caller === null ? undefined : typeof caller === 'string' ? this.tokens[caller] : caller.token;
    return this.post(JSON.stringify({ query, variables }), token);
  }

  async post(body: string, token?: string, headers: Record<string, string> = {}): Promise<GraphQLResponse> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }), ...headers },
      body,
    });
    const text = await response.text();
    let parsed: GraphQLResponse['body'];
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`not JSON (HTTP ${response.status}): ${text.slice(0, 200)}`);
    }
    return { status: response.status, headers: response.headers, body: parsed };
  }

  /** Runs a command directly on the bus, as the platform itself: set-up that is not under test. */
  async system(type: string, data: Record<string, unknown>): Promise<CommandResult> {
    const result = await this.bus.execute({ commandId: randomUUID(), actor: { id: 'test-setup', role: 'SYSTEM' } }, { type, data });
    if (E.isLeft(result)) throw new Error(`${type} failed in set-up: ${result.left.message}`);
    return result.right;
  }

  newSerial(): string {
    return `UKEY-${String(++this.counter).padStart(6, '0')}`;
  }

  newId(prefix: string): string {
    return `${prefix}-${++this.counter}`;
  }

  async device(stage: DeviceStage): Promise<string> {
    const serial = this.newSerial();
    await this.system('InitializeDevice', { serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint });
    if (stage === 'INITIALIZED') return serial;
    await this.system('DistributeDevice', { serial, organisation: 'grid-east' });
    if (stage === 'DISTRIBUTED') return serial;
    await this.system('BindDevice', { serial, userId: 'lineman-7' });
    if (stage === 'LOST') await this.system('ReportDeviceLost', { serial, reason: 'left on a pylon' });
    if (stage === 'FROZEN') await this.system('FreezeDevice', { serial, reason: 'suspicious use' });
    if (stage === 'PIN_LOCKED') {
      const badPin = { serial, chargerId: this.kiosk, chargeId: this.newId('charge'), reason: 'BAD_PIN' };
      for (let i = 0; i < 5; i++) await this.system('RecordDeviceAuthenticationFailure', badPin);
    }
    return serial;
  }

  async charger(): Promise<string> {
    const chargerId = this.newId('kiosk');
    await this.system('RegisterCharger', { chargerId, location: 'Substation 12', golden: GOLDEN });
    return chargerId;
  }

  async pool(): Promise<string> {
    const sourceId = this.newId('pool');
    const block = { blockId: this.newId('block'), key: randomBytes(64 * BYTES), qber: 0.02 };
    const ingested = await this.keyPool.ingest({ id: 'qkd-link', role: 'SYSTEM' }, sourceId, block);
    if (E.isLeft(ingested)) throw new Error(ingested.left.message);
    return sourceId;
  }

  /** A charge the kiosk started for an active device. */
  async charge(stage: ChargeStage): Promise<{ chargeId: string; serial: string; sourceId: string }> {
    const chargeId = this.newId('charge');
    const serial = await this.device('ACTIVE');
    const sourceId = await this.pool();
    await this.system('StartCharge', { chargeId, deviceSerial: serial, chargerId: this.kiosk, sourceId, bytes: BYTES });
    if (stage !== 'STARTED') {
      await this.system('RecordChargeDeviceVerification', { chargeId, verified: true, method: 'CERTIFICATE' });
    }
    if (stage === 'DELIVERED') {
      const { rangeId, offset } = await this.reserve(sourceId, chargeId);
      await this.system('DeliverChargeKeys', { chargeId, sourceId, rangeId, offset, length: BYTES, commitment: COMMITMENT });
      await this.system('IssueKeyRange', { sourceId, rangeId, deviceSerial: serial });
    }
    return { chargeId, serial, sourceId };
  }

  /** A key range of the pool reserved for the charge. */
  async reserve(sourceId: string, chargeId: string): Promise<{ rangeId: string; offset: number }> {
    const rangeId = this.newId('range');
    const reserved = await this.system('ReserveKeyRange', { sourceId, rangeId, length: BYTES, chargeId });
    return { rangeId, offset: (reserved.events[0].data as { offset: number }).offset };
  }

  /** A key range reserved for a charge the kiosk started. */
  async range(stage: RangeStage): Promise<{ sourceId: string; rangeId: string; serial: string }> {
    const { chargeId, serial, sourceId } = await this.charge('STARTED');
    const { rangeId } = await this.reserve(sourceId, chargeId);
    if (stage !== 'RESERVED') await this.system('IssueKeyRange', { sourceId, rangeId, deviceSerial: serial });
    if (stage === 'FROZEN') await this.system('FreezeKeyRange', { sourceId, rangeId, reason: 'device reported lost' });
    return { sourceId, rangeId, serial };
  }

  /** The position of the last event in the log. */
  async head(): Promise<number> {
    const events = await this.store.readAll();
    return events.length === 0 ? 0 : events[events.length - 1].position;
  }
}
