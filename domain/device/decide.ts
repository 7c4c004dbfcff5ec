import * as E from 'fp-ts/Either';
import { absurd, pipe } from 'fp-ts/function';
import { alreadyExists, DomainError, invalidState, notFound } from '../shared/errors';
import { DeviceCommand } from './commands';
import { DeviceEvent } from './events';
import { AuthenticationFailureReason } from './fields';
import { DeviceState, DeviceStatus } from './state';

/** Wrong PINs in a row that lock a device until an administrator unblocks it. */
export const MAX_PIN_ATTEMPTS = 5;

type Decision = E.Either<DomainError, readonly DeviceEvent[]>;

/** A status in which a device exists and may still change. */
type LiveStatus = Exclude<DeviceStatus, 'NONE' | 'DESTROYED'>;

const ENTITY = 'device';

/** The live status of the device, or the refusal for one that is unknown or destroyed. */
const live = (state: DeviceState, serial: string, action: string): E.Either<DomainError, LiveStatus> => {
  switch (state.status) {
    case 'NONE':
      return E.left(notFound(ENTITY, serial, 'initialize it first'));
    case 'DESTROYED':
      return E.left(
        invalidState(
          ENTITY,
          serial,
          'DESTROYED',
          action,
          'a destroyed device never changes again; initialize a new device under a new serial',
        ),
      );
    default:
      return E.right(state.status);
  }
};

/** What brings a device from where it is back into service, where most commands need it. */
const untilActive = (status: Exclude<LiveStatus, 'ACTIVE'>): string => {
  switch (status) {
    case 'INITIALIZED':
      return 'distribute and bind it first';
    case 'DISTRIBUTED':
      return 'bind it to a user first';
    case 'LOST':
      return 'cancel the loss report first';
    case 'FROZEN':
      return 'restore it first';
    default:
      return absurd(status);
  }
};

/** One lifecycle move: the single status it starts from, and what to advise from any other status. */
interface Move<F extends LiveStatus> {
  readonly action: string;
  readonly from: F;
  readonly hint: (status: Exclude<LiveStatus, F>) => string;
  readonly event: DeviceEvent;
}

const move = <F extends LiveStatus>(state: DeviceState, serial: string, { action, from, hint, event }: Move<F>) =>
  pipe(
    live(state, serial, action),
    E.chain(
      (status): Decision =>
        status === from
          ? E.right([event])
          : // TypeScript does not narrow a union by a generic literal; `status !== from` makes this cast sound.
            E.left(invalidState(ENTITY, serial, status, action, hint(status as Exclude<LiveStatus, F>))),
    ),
  );

export const decide = (command: DeviceCommand, state: DeviceState): Decision => {
  const { serial } = command.data;
  switch (command.type) {
    case 'InitializeDevice': {
      // Serials are never reused, not even after a device is destroyed.
      if (state.status !== 'NONE') return E.left(alreadyExists(ENTITY, serial));
      const { kind, credentialKind, credentialFingerprint } = command.data;
      return E.right([{ type: 'DeviceInitialized', data: { serial, kind, credentialKind, credentialFingerprint } }]);
    }
    case 'DistributeDevice':
      return move(state, serial, {
        action: 'distribute',
        from: 'INITIALIZED',
        hint: () => 'it was distributed already; check the serial',
        event: { type: 'DeviceDistributed', data: { serial, organisation: command.data.organisation } },
      });
    case 'BindDevice':
      return move(state, serial, {
        action: 'bind',
        from: 'DISTRIBUTED',
        hint: (status) =>
          status === 'INITIALIZED'
            ? 'distribute it to an organisation first'
            : 'it is bound to a user already; check the serial',
        event: { type: 'DeviceBound', data: { serial, userId: command.data.userId } },
      });
    case 'ReportDeviceLost':
      return move(state, serial, {
        action: 'report the loss of',
        from: 'ACTIVE',
        hint: (status) => (status === 'LOST' ? 'it is reported lost already; nothing to do' : untilActive(status)),
        event: { type: 'DeviceReportedLost', data: { serial, reason: command.data.reason } },
      });
    case 'CancelDeviceLoss':
      return move(state, serial, {
        action: 'cancel the loss report of',
        from: 'LOST',
        hint: (status) =>
          status === 'ACTIVE'
            ? 'it is not reported lost; nothing to cancel'
            : 'only a device reported LOST can have its loss cancelled; check the serial',
        event: { type: 'DeviceLossCancelled', data: { serial } },
      });
    case 'FreezeDevice':
      return move(state, serial, {
        action: 'freeze',
        from: 'ACTIVE',
        hint: (status) => (status === 'FROZEN' ? 'it is frozen already; nothing to do' : untilActive(status)),
        event: { type: 'DeviceFrozen', data: { serial, reason: command.data.reason } },
      });
    case 'RestoreDevice':
      return move(state, serial, {
        action: 'restore',
        from: 'FROZEN',
        hint: (status) =>
          status === 'ACTIVE'
            ? 'it is not frozen; nothing to restore'
            : status === 'LOST'
              ? 'a lost device is not frozen; cancel the loss report instead'
              : 'only a FROZEN device can be restored; check the serial',
        event: { type: 'DeviceRestored', data: { serial } },
      });
    case 'DestroyDevice':
      return pipe(
        live(state, serial, 'destroy'),
        E.map(() => [{ type: 'DeviceDestroyed', data: { serial, reason: command.data.reason } }]),
      );
    case 'RecordDeviceAuthenticationFailure':
      return pipe(
        live(state, serial, 'record an authentication failure of'),
        E.map(() => recordFailure(state, serial, command.data.chargerId, command.data.reason)),
      );
    case 'RecordDeviceAuthenticated':
      return pipe(
        live(state, serial, 'authenticate'),
        E.chain((status) => {
          if (status !== 'ACTIVE') {
            return E.left(invalidState(ENTITY, serial, status, 'authenticate', untilActive(status)));
          }
          if (state.pinLocked) {
            return E.left(invalidState(ENTITY, serial, 'PIN-locked', 'authenticate', 'unblock its PIN first'));
          }
          return E.right([{ type: 'DeviceAuthenticated', data: { serial, chargerId: command.data.chargerId } }]);
        }),
      );
    case 'UnblockDevicePin':
      return pipe(
        live(state, serial, 'unblock the PIN of'),
        E.chain(() => {
          if (!state.pinLocked) {
            const hint = 'nothing to unblock; check the serial';
            return E.left(invalidState(ENTITY, serial, 'not PIN-locked', 'unblock the PIN of', hint));
          }
          return E.right([{ type: 'DevicePinUnblocked', data: { serial } }]);
        }),
      );
    default:
      return absurd(command);
  }
};

/** Every failure is recorded for the audit; the wrong PIN that reaches the limit also locks the device, once. */
const recordFailure = (
  state: DeviceState,
  serial: string,
  chargerId: string,
  reason: AuthenticationFailureReason,
): readonly DeviceEvent[] => {
  const failed: DeviceEvent = {
    type: 'DeviceAuthenticationFailed',
    data: { serial, chargerId, reason, consecutiveFailures: state.consecutiveFailures + 1 },
  };
  const pinFailures = state.pinFailures + 1;
  return reason === 'BAD_PIN' && !state.pinLocked && pinFailures >= MAX_PIN_ATTEMPTS
    ? [failed, { type: 'DevicePinLocked', data: { serial, failures: pinFailures } }]
    : [failed];
};
