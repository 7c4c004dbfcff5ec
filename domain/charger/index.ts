import { Aggregate } from '../shared/aggregate';
import { ChargerCommand, chargerCommandCodecs } from './commands';
import { decide } from './decide';
import { ChargerEvent, chargerEventCodecs } from './events';
import { evolve } from './evolve';
import { ChargerState, initialChargerState } from './state';

export const chargerAggregate: Aggregate<ChargerState, ChargerCommand, ChargerEvent> = {
  name: 'charger',
  streamPrefix: 'charger',
  initialState: initialChargerState,
  commandCodecs: chargerCommandCodecs,
  eventCodecs: chargerEventCodecs,
  targetOf: (command) => command.data.chargerId,
  decide,
  evolve,
};

export { BOOT_STAGES, mismatchedStages } from './measurements';
export type { BootStage } from './measurements';
export type { ChargerCommand } from './commands';
export type { ChargerEvent } from './events';
export type { BootMeasurements, ChargerState, ChargerStatus } from './state';
export { initialChargerState } from './state';
