import * as fs from 'node:fs';
import { KeyBlock, KeySource } from '../../application/ports/key-source';
import { KeySourceConfig } from '../config';
import { MasterKey } from '../keys/master-key';
import { Bb84KeySource } from './bb84';
import { Etsi014KeySource } from './etsi014-client';

/** At most this much key per pull from a remote KME, so progress shows and a failure loses little. */
const KME_PULL_BYTES = 64 * 1024;

/** A remote KME reports no QBER over ETSI GS QKD 014: its blocks are recorded with QBER 0. */
const remoteKme = (config: Extract<KeySourceConfig, { kind: 'etsi014' }>): KeySource => {
  const client = new Etsi014KeySource({
    url: config.url,
    slaveSaeId: config.slaveSaeId,
    cert: fs.readFileSync(config.certFile),
    key: fs.readFileSync(config.keyFile),
    ca: fs.readFileSync(config.caFile),
  });
  return {
    sourceId: config.sourceId,
    description: `KME ${config.url} (ETSI GS QKD 014, slave SAE ${config.slaveSaeId})`,
    next: async (wantBytes): Promise<KeyBlock[]> =>
      (await client.pull(Math.min(wantBytes, KME_PULL_BYTES))).map(({ blockId, key }) => ({ ok: true, blockId, key, qber: 0, figures: {} })),
    close: async () => {},
  };
};

export const openKeySource = (config: KeySourceConfig, masterKey: MasterKey): KeySource =>
  config.kind === 'bb84'
    ? new Bb84KeySource({ sourceId: config.sourceId, authenticationKey: masterKey.derive('qkd-classical-channel/v1') })
    : remoteKme(config);
