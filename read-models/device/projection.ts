import { Fields, ViewOp } from '../../application/ports/view-store';
import { DeviceEvent } from '../../domain/device';
import { deviceEventCodecs } from '../../domain/device/events';
import { coalesce } from '../coalesce';
import { foldPerRecord } from '../fold';
import { NO_OPS, opsOfEach, ProjectedEvent, Projection } from '../projection';

// Keys: one hash per device, the list of all serials, and one index per filterable value.
const DEVICE_PREFIX = 'device:';
export const deviceKey = (serial: string): string => DEVICE_PREFIX + serial;
const isDeviceKey = (key: string): boolean => key.startsWith(DEVICE_PREFIX);
export const ALL_DEVICES = 'devices';
export const byStatus = 'devices:status:';
export const byKind = 'devices:kind:';
export const byOrganisation = 'devices:org:';
export const byUser = 'devices:user:';

const isDeviceEvent = (e: ProjectedEvent): e is ProjectedEvent & { event: DeviceEvent } =>
  e.event !== undefined && Object.prototype.hasOwnProperty.call(deviceEventCodecs, e.event.type);

const deviceOps = ({ event, at, recorded }: ProjectedEvent & { event: DeviceEvent }): readonly ViewOp[] => {
  const { serial } = event.data;
  const key = deviceKey(serial);
  const indexed = (indexPrefix: string, field: string, value: string): ViewOp => ({
    kind: 'reindex',
    key,
    field,
    value,
    indexPrefix,
    member: serial,
  });
  const update = (fields: Fields, status?: string): ViewOp[] => [
    { kind: 'set', key, fields: { ...fields, updatedAt: at, position: String(recorded.position) }, onlyIfExists: true },
    ...(status === undefined ? [] : [indexed(byStatus, 'status', status)]),
  ];
  switch (event.type) {
    case 'DeviceInitialized':
      return [
        {
          kind: 'set',
          key,
          fields: {
            serial,
            credentialKind: event.data.credentialKind,
            pinLocked: 'false',
            initializedAt: at,
            updatedAt: at,
            position: String(recorded.position),
          },
        },
        { kind: 'index', key: ALL_DEVICES, members: [serial] },
        indexed(byKind, 'kind', event.data.kind),
        indexed(byStatus, 'status', 'INITIALIZED'),
      ];
    case 'DeviceDistributed':
      return [
        ...update({ distributedAt: at }, 'DISTRIBUTED'),
        indexed(byOrganisation, 'organisation', event.data.organisation),
      ];
    case 'DeviceBound':
      return [...update({ boundAt: at }, 'ACTIVE'), indexed(byUser, 'userId', event.data.userId)];
    case 'DeviceReportedLost':
      return update({ reportedLostAt: at }, 'LOST');
    case 'DeviceLossCancelled':
      return update({ lossCancelledAt: at }, 'ACTIVE');
    case 'DeviceFrozen':
      return update({ frozenAt: at }, 'FROZEN');
    case 'DeviceRestored':
      return update({ restoredAt: at }, 'ACTIVE');
    case 'DeviceDestroyed':
      return update({ destroyedAt: at }, 'DESTROYED');
    case 'DevicePinLocked':
      return update({ pinLocked: 'true', pinLockedAt: at });
    case 'DevicePinUnblocked':
      return update({ pinLocked: 'false', pinUnblockedAt: at });
    // Authentication attempts change no field of the view; the audit records them.
    case 'DeviceAuthenticationFailed':
    case 'DeviceAuthenticated':
      return NO_OPS;
  }
};

/** A batch's operations are folded per device (see foldPerRecord), then coalesced. */
export const deviceProjection: Projection = {
  name: 'devices',
  project: (events) =>
    coalesce(foldPerRecord(opsOfEach(events, (e) => (isDeviceEvent(e) ? deviceOps(e) : NO_OPS)), isDeviceKey)),
};

/** The serial whose DeviceView this event changes, if any: what device subscriptions are told. */
export const changedDevice = (e: ProjectedEvent): string | undefined =>
  isDeviceEvent(e) && deviceOps(e).length > 0 ? e.event.data.serial : undefined;
