import * as t from 'io-ts';
import { rule } from '../shared/codec';
import { Sha256Hex } from '../shared/types';
import { BootMeasurements as BootMeasurementsType } from './state';

/** The stages of the measured boot chain, trusted root first. */
export const BOOT_STAGES = ['bootModule', 'operatingSystem', 'application'] as const;
export type BootStage = (typeof BOOT_STAGES)[number];

export const BootMeasurements: t.Type<BootMeasurementsType> = t.exact(
  t.type({ bootModule: Sha256Hex, operatingSystem: Sha256Hex, application: Sha256Hex }),
  'boot measurements',
);

const BootStage = t.keyof(
  { bootModule: null, operatingSystem: null, application: null },
  `one of ${BOOT_STAGES.join(', ')}`,
);

export const MismatchedStages = rule(
  t.readonlyArray(BootStage),
  `a non-empty list of distinct boot stages (${BOOT_STAGES.join(', ')})`,
  (stages) => stages.length > 0 && new Set(stages).size === stages.length,
);

/**
 * The stages whose measurement differs from the golden value, in boot order; empty when the chain is intact.
 * Without golden values nothing matches: attestation fails closed.
 */
export const mismatchedStages = (
  golden: BootMeasurementsType | undefined,
  measured: BootMeasurementsType,
): BootStage[] => BOOT_STAGES.filter((stage) => golden?.[stage] !== measured[stage]);
