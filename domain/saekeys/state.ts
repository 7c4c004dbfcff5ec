import { Map as ImmutableMap } from 'immutable';
import { KeyPlace } from './fields';

export interface SaeKey extends KeyPlace {
  /** Empty: any gateway of the platform may fetch it (a device's key). */
  readonly slaveSaeIds: readonly string[];
  /** The slave that fetched it; a key reaches its slave once. */
  readonly deliveredTo?: string;
}

/** The keys a master SAE obtained, by key ID, and how many keys of each range still wait for a slave. */
export interface SaeKeysState {
  readonly keys: ImmutableMap<string, SaeKey>;
  readonly waitingPerRange: ImmutableMap<string, number>;
  readonly requests: ImmutableMap<string, true>;
}

export const initialSaeKeysState: SaeKeysState = {
  keys: ImmutableMap(),
  waitingPerRange: ImmutableMap(),
  requests: ImmutableMap(),
};

export const rangeKey = (sourceId: string, rangeId: string): string => `${sourceId}/${rangeId}`;
