import type { AccessControl, Principal } from '../application/access/access-control';
import type { CommandBus, Sending } from '../application/command-bus';
import type { AuditVerification, EventStore } from '../application/ports/event-store';
import type { ReadModels } from '../application/ports/read-models';
import type { Projector } from '../read-models/projector';
import type { ChargeKeyDelivery } from '../application/charge/deliver-keys';
import type { OperationBudget } from './operation-budget';

/** What the API needs from the rest of the platform; it creates none of it. */
export interface ApiDeps {
  readonly bus: Pick<CommandBus, 'execute' | 'sending'>;
  readonly readModels: ReadModels;
  readonly access: Pick<AccessControl, 'recognise' | 'authenticate' | 'authorizeCommand' | 'authorizeQuery' | 'holdsToken' | 'onTokenRetired'>;
  /** For deviceHistory, which replays the device's own stream. */
  readonly store: Pick<EventStore, 'readStream' | 'lastPosition'>;
  /** What each batch the projector applied changed: feeds the subscriptions. */
  readonly changes: Pick<Projector, 'onChange'>;
  readonly auditVerify: () => Promise<AuditVerification>;
  /** Hands a charge's keys to its kiosk. */
  readonly charging: ChargeKeyDelivery;
}

/** Per request (HTTP) or per subscription (WebSocket). */
export interface ApiContext {
  /** Who is asking: neither HTTP nor WebSocket admits a request without a working token (null is AccessControl's to refuse). */
  readonly principal: Principal | null;
  readonly budget: OperationBudget;
  /** Counts a refusal against the principal's rate limit (over HTTP; a WebSocket has its own caps). */
  readonly refused?: () => void;
  /** When the request reached the server: its mutations were sent against the state then. */
  readonly sending?: Sending;
}

/** What every resolver module is built from. */
export interface ResolverEnv {
  readonly deps: ApiDeps;
  /** Bound on how long a query with consistentWith waits for the views. */
  readonly consistencyTimeoutMs: number;
  /** Items a subscriber may fall behind by before its subscription ends. */
  readonly maxQueuedPerSubscription: number;
}
