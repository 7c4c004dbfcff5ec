import { AccessControl } from '../application/access';
import { CommandBus } from '../application/command-bus';
import { EventStore } from '../application/ports/event-store';
import { ReadModels } from '../application/ports/read-models';
import { ViewStore } from '../application/ports/view-store';
import { KeyVault } from '../application/ports/key-vault';
import { KeyPool } from '../application/keypool/key-pool';
import { SaeKeyDelivery } from '../application/keydelivery/sae-key-delivery';
import { followKeyCustody } from '../application/keypool/key-custody';
import { Subscription } from '../application/ports/event-store';
import { SqliteKeyVault } from './keys/sqlite-key-vault';
import { commandRoutes } from '../application/routes';
import { createReadModels } from '../read-models/read-models';
import { Projector } from '../read-models/projector';
import { Config } from './config';
import { openEventStore } from './event-store/open';
import { MasterKey } from './keys/master-key';
import { MemoryViewStore } from './read-models/memory-view-store';
import { RedisViewStore } from './read-models/redis-view-store';

/** The write side: what every command-line tool needs. */
export interface Core {
  readonly config: Config;
  readonly masterKey: MasterKey;
  /** True when this start created the master key file. */
  readonly masterKeyCreated: boolean;
  readonly store: EventStore;
  readonly bus: CommandBus;
  readonly vault: KeyVault;
  readonly keyPool: KeyPool;
  close(): Promise<void>;
}

/** The whole platform behind the API: the core, views kept by a projector, and access control. */
export interface Platform extends Core {
  readonly views: ViewStore;
  readonly projector: Projector;
  readonly readModels: ReadModels;
  readonly access: AccessControl;
  readonly keyDelivery: SaeKeyDelivery;
}

export const openCore = (config: Config): Core => {
  const { key, created } = MasterKey.load(config.masterKeyFile, config.masterKey);
  const store = openEventStore(config.eventStore, key.derive('audit-chain/v1'));
  const bus = new CommandBus(store, commandRoutes);
  const vault = SqliteKeyVault.open(config.vaultFile, key.derive('key-vault/v1'));
  const keyPool = new KeyPool(bus, vault, key.derive('key-commitment/v1'));
  const close = async () => {
    await vault.close();
    await store.close();
  };
  return { config, masterKey: key, masterKeyCreated: created, store, bus, vault, keyPool, close };
};

export const openViews = (config: Config): ViewStore =>
  config.readModels.kind === 'memory'
    ? new MemoryViewStore()
    : RedisViewStore.open(config.readModels.url, config.readModels.namespace);

/** Opens everything and starts the log followers; `onFault` hears of faults they retry or report (views, key custody). */
export const openPlatform = async (config: Config, onFault?: (error: Error) => void): Promise<Platform> => {
  const core = openCore(config);
  const views = openViews(config);
  const projector = new Projector(core.store, views, { onFault: (error) => onFault?.(new Error(`views: ${error.message}`)) });
  let custody: Subscription | undefined;
  try {
    const access = await AccessControl.open(core.store, core.bus.load);
    projector.start();
    custody = followKeyCustody(core.store, core.bus, core.keyPool, (error) => onFault?.(new Error(`key custody: ${error.message}`)));
    return {
      ...core,
      views,
      projector,
      readModels: createReadModels(views, projector),
      access,
      keyDelivery: new SaeKeyDelivery(core.bus, core.keyPool, config.keySource.sourceId, config.keyDelivery.kmeId),
      close: async () => {
        await custody?.close();
        await projector.stop();
        await access.close();
        await views.close();
        await core.close();
      },
    };
  } catch (error) {
    await custody?.close();
    await views.close();
    await core.close();
    throw error;
  }
};
