import { Fields, ViewOp } from '../../application/ports/view-store';
import { coalesce } from '../coalesce';
import { foldPerRecord } from '../fold';
import { NO_OPS, opsOfEach, ProjectedEvent, Projection } from '../projection';

const CHARGER_PREFIX = 'charger:';
export const chargerKey = (chargerId: string): string => CHARGER_PREFIX + chargerId;
const isChargerKey = (key: string): boolean => key.startsWith(CHARGER_PREFIX);
export const ALL_CHARGERS = 'chargers';

/** Sets fields of a registered charger, and the position of the event that changed it. */
const update = (chargerId: string, position: number, fields: Fields): ViewOp => ({
  kind: 'set',
  key: chargerKey(chargerId),
  fields: { ...fields, position: String(position) },
  onlyIfExists: true,
});

const chargerOps = ({ event, at, recorded: { position } }: ProjectedEvent): readonly ViewOp[] => {
  switch (event?.type) {
    case 'ChargerRegistered': {
      const { chargerId, location } = event.data;
      const fields = { chargerId, location, status: 'REGISTERED', registeredAt: at, bytesCharged: '0', position: String(position) };
      return [
        { kind: 'set', key: chargerKey(chargerId), fields },
        { kind: 'index', key: ALL_CHARGERS, members: [chargerId] },
      ];
    }
    case 'ChargerAttested':
      return [update(event.data.chargerId, position, { status: 'ATTESTED', attestedAt: at })];
    case 'ChargerAttestationFailed':
      return [update(event.data.chargerId, position, { status: 'ATTESTATION_FAILED', attestationFailedAt: at })];
    case 'ChargerRevoked':
      return [update(event.data.chargerId, position, { status: 'REVOKED', revokedAt: at })];
    case 'ChargeCompleted': {
      const { chargerId, bytes } = event.data;
      return [
        { kind: 'incr', key: chargerKey(chargerId), by: { bytesCharged: bytes }, onlyIfExists: true },
        update(chargerId, position, {}),
      ];
    }
    default:
      return NO_OPS;
  }
};

/**
 * A batch's operations are folded per charger (see foldPerRecord), then coalesced: a busy kiosk's
 * charges add up to one increment.
 */
export const chargerProjection: Projection = {
  name: 'chargers',
  project: (events) => coalesce(foldPerRecord(opsOfEach(events, chargerOps), isChargerKey)),
};
