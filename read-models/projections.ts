import { auditProjection } from './audit/projection';
import { chargerProjection } from './charger/projection';
import { deviceProjection } from './device/projection';
import { keyBalanceProjection } from './key-balance/projection';
import { Projection } from './projection';

/** Every read model the platform keeps. */
export const allProjections: readonly Projection[] = [
  deviceProjection,
  keyBalanceProjection,
  chargerProjection,
  auditProjection,
];

export const projectionNames = (projections: readonly Projection[]): string[] => projections.map((p) => p.name);
