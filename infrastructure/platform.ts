import * as fs from 'node:fs';
import * as path from 'node:path';
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
  /** True when this start created the key vault file. */
  readonly vaultCreated: boolean;
  close(): Promise<void>;
}

const removeVaultFile = (file: string): void => {
  for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${file}${suffix}`, { force: true });
};

/** The key vault is not this log's: nothing may fill, shred or draw from it. */
export class VaultMismatchError extends Error {
  constructor(file: string, reason: string) {
    super(`key vault ${file}: ${reason}`);
    this.name = 'VaultMismatchError';
  }
}

/**
 * Refuses a key vault holding less of the configured pool than the log counts available, before
 * anything follows the log through it; a vault file this start created is removed again. The
 * caller closes the core.
 */
export const checkVault = async (core: Core): Promise<void> => {
  const mismatch = await core.keyPool.vaultMismatch(core.config.keySource.sourceId);
  if (mismatch === undefined) return;
  if (core.vaultCreated) removeVaultFile(core.config.vaultFile);
  // Before vaults were named after their log, every store of a data directory used this one.
  const shared = path.join(core.config.dataDir, 'vault.db');
  const earlier =
    shared !== core.config.vaultFile && fs.existsSync(shared)
      ? `; every store of a data directory used ${shared} before this version: look there for this log's key (it may hold the embedded log's too)`
      : '';
  throw new VaultMismatchError(core.config.vaultFile, mismatch + earlier);
};

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
  const vaultCreated = config.vaultFile !== ':memory:' && !fs.existsSync(config.vaultFile);
  const vault = SqliteKeyVault.open(config.vaultFile, key.derive('key-vault/v1'));
  const keyPool = new KeyPool(bus, vault, key.derive('key-commitment/v1'));
  const close = async () => {
    // A vault file this start made and nothing filled (admin create, audit verify) is not left behind.
    const unused = vaultCreated && (await vault.held(config.keySource.sourceId)) === 0;
    await vault.close();
    await store.close();
    if (unused) removeVaultFile(config.vaultFile);
  };
  return { config, masterKey: key, masterKeyCreated: created, store, bus, vault, keyPool, vaultCreated, close };
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
    await checkVault(core);
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
