export type ChargerStatus = 'NONE' | 'REGISTERED' | 'ATTESTED' | 'ATTESTATION_FAILED' | 'REVOKED';

/** The measured boot chain of a charging kiosk, trusted root first (paper, section III-B). */
export interface BootMeasurements {
  readonly bootModule: string;
  readonly operatingSystem: string;
  readonly application: string;
}

export interface ChargerState {
  /** NONE until ChargerRegistered; only an ATTESTED charger may charge. */
  readonly status: ChargerStatus;
  readonly chargerId?: string;
  readonly location?: string;
  readonly golden?: BootMeasurements;
}

export const initialChargerState: ChargerState = { status: 'NONE' };
