// What the query side answers. Projections keep these views up to date from the event log; the
// GraphQL API reads them through this port, whatever the store behind it (memory or Redis).

import { DeviceKind } from '../../domain/shared/types';
import { DeviceStatus, CredentialKind } from '../../domain/device/state';
import { ChargerStatus } from '../../domain/charger/state';
import { PoolBalance as KeyPoolBalance } from '../../domain/keypool/state';

export interface DeviceView {
  readonly serial: string;
  readonly kind: DeviceKind;
  readonly status: Exclude<DeviceStatus, 'NONE'>;
  readonly credentialKind: CredentialKind;
  readonly organisation: string | null;
  readonly userId: string | null;
  readonly pinLocked: boolean;
  /** ISO times of each lifecycle step; null until it happens. The latest one wins for repeated steps. */
  readonly initializedAt: string;
  readonly distributedAt: string | null;
  readonly boundAt: string | null;
  readonly reportedLostAt: string | null;
  readonly lossCancelledAt: string | null;
  readonly frozenAt: string | null;
  readonly restoredAt: string | null;
  readonly destroyedAt: string | null;
  readonly pinLockedAt: string | null;
  readonly pinUnblockedAt: string | null;
  readonly updatedAt: string;
  /** Global position of the last event that changed this view. */
  readonly position: number;
}

export interface DeviceFilter {
  readonly status?: Exclude<DeviceStatus, 'NONE'>;
  readonly kind?: DeviceKind;
  readonly organisation?: string;
  readonly userId?: string;
}

/** Bytes, per device. remaining = charged - consumed - frozen - destroyed. */
export interface DeviceKeyBalance {
  readonly serial: string;
  readonly charged: number;
  readonly consumed: number;
  readonly frozen: number;
  readonly destroyed: number;
  readonly remaining: number;
}

/** The pool aggregate's own balance, per key source, as the views keep it. */
export interface PoolBalance extends KeyPoolBalance {
  readonly sourceId: string;
}

export interface ChargerView {
  readonly chargerId: string;
  readonly location: string;
  readonly status: Exclude<ChargerStatus, 'NONE'>;
  readonly registeredAt: string;
  readonly attestedAt: string | null;
  readonly attestationFailedAt: string | null;
  readonly revokedAt: string | null;
  /** Bytes delivered to devices in completed charges at this charger. */
  readonly bytesCharged: number;
  readonly position: number;
}

export type AuditOutcome = 'SUCCESS' | 'REFUSED' | 'FAILED';

export interface AuditEntry {
  readonly position: number;
  readonly eventId: string;
  readonly streamId: string;
  readonly revision: number;
  /** The event type, e.g. DeviceFrozen, ChargeFailed, AccessDenied. */
  readonly action: string;
  /** What the action was about: `device:UKEY-0001`, `charger:kiosk-1`, `keypool:bb84`, `charge:c-1`, ... */
  readonly target: string;
  readonly actorId: string;
  readonly actorRole: string;
  readonly outcome: AuditOutcome;
  /** Why a refused or failed attempt did not succeed; null for successes. Never carries secrets. */
  readonly reason: string | null;
  readonly at: string;
  readonly commandId: string;
  readonly correlationId: string;
  /**
   * Other targets the event names: the device and charger of a charge, the device a key range went
   * to, the charger a device authenticated at, what a refused request asked for.
   */
  readonly concerns: readonly string[];
}

export interface AuditFilter {
  /** Entries about a target, e.g. `device:UKEY-0001`: of its stream, or naming it among their concerns. */
  readonly target?: string;
  readonly actorId?: string;
  readonly action?: string;
  readonly outcome?: AuditOutcome;
  /** ISO times, inclusive from, exclusive to. */
  readonly from?: string;
  readonly to?: string;
}

export interface CountBucket {
  /** Start of the hour or day (ISO). */
  readonly bucket: string;
  readonly action: string;
  readonly count: number;
}

export interface AuditStats {
  readonly perHour: readonly CountBucket[];
  readonly perDay: readonly CountBucket[];
  readonly total: number;
  readonly failures: number;
  readonly failuresByAction: readonly { readonly action: string; readonly count: number }[];
  readonly topActors: readonly { readonly actorId: string; readonly count: number }[];
}

export interface PageRequest {
  /** At most this many items (1 to 500). */
  readonly first?: number;
  /** The cursor of the last item of the previous page. */
  readonly after?: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Items matching the filter, over all pages. */
  readonly total: number;
  /** Pass as `after` for the next page; null on the last page. */
  readonly endCursor: string | null;
}

export interface ViewsStatus {
  /** The lowest position every projection has reached. */
  readonly position: number;
  /** True while the views are not live (catching up, unreachable, or unable to follow the log): queries are refused. */
  readonly stale: boolean;
  /** Why the views are stale, fit for a console; absent when they are not. */
  readonly reason?: string;
}

/**
 * The views are not live: catching up with the log (at start, after the view store came back or
 * lost them) or unable to follow it. They hold an older state of the log, perhaps much older, so
 * queries are refused rather than answered from it.
 */
export class ViewsStaleError extends Error {
  readonly code = 'VIEWS_STALE';
  /** `message` says why and what to do, as the projector's status gives it. */
  constructor(
    message: string,
    /** The log position the views hold. */
    readonly position: number,
  ) {
    super(message);
    this.name = 'ViewsStaleError';
  }
}

export interface ReadModels {
  device(serial: string): Promise<DeviceView | null>;
  devices(filter: DeviceFilter, page: PageRequest): Promise<Page<DeviceView>>;
  deviceBalance(serial: string): Promise<DeviceKeyBalance | null>;
  poolBalance(sourceId: string): Promise<PoolBalance | null>;
  pools(): Promise<readonly PoolBalance[]>;
  charger(chargerId: string): Promise<ChargerView | null>;
  chargers(page: PageRequest): Promise<Page<ChargerView>>;
  audit(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEntry>>;
  auditStats(filter: Pick<AuditFilter, 'from' | 'to'>, top?: number): Promise<AuditStats>;
  status(): Promise<ViewsStatus>;
  /** Resolves true once the views are live and every projection has reached `position`, false after `timeoutMs`. */
  waitFor(position: number, timeoutMs: number): Promise<boolean>;
}
