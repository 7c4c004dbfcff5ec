import { Fields, ViewOp } from '../../application/ports/view-store';
import { eachEvent, Projection } from '../projection';

export const chargerKey = (chargerId: string): string => `charger:${chargerId}`;
export const ALL_CHARGERS = 'chargers';

export const chargerProjection: Projection = eachEvent('chargers', ({ event, at, recorded }) => {
    if (event === undefined) return [];
    const position = String(recorded.position);
    const update = (chargerId: string, fields: Fields): ViewOp[] => [
      { kind: 'set', key: chargerKey(chargerId), fields: { ...fields, position }, onlyIfExists: true },
    ];
    switch (event.type) {
      case 'ChargerRegistered': {
        const { chargerId, location } = event.data;
        return [
          {
            kind: 'set',
            key: chargerKey(chargerId),
            fields: { chargerId, location, status: 'REGISTERED', registeredAt: at, bytesCharged: '0', position },
          },
          { kind: 'index', key: ALL_CHARGERS, members: [chargerId] },
        ];
      }
      case 'ChargerAttested':
        return update(event.data.chargerId, { status: 'ATTESTED', attestedAt: at });
      case 'ChargerAttestationFailed':
        return update(event.data.chargerId, { status: 'ATTESTATION_FAILED', attestationFailedAt: at });
      case 'ChargerRevoked':
        return update(event.data.chargerId, { status: 'REVOKED', revokedAt: at });
      case 'ChargeCompleted': {
        const { chargerId, bytes } = event.data;
        return [
          { kind: 'incr', key: chargerKey(chargerId), by: { bytesCharged: bytes }, onlyIfExists: true },
          ...update(chargerId, {}),
        ];
      }
      default:
        return [];
    }
});
