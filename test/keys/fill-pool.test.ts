import * as E from 'fp-ts/Either';
import { randomBytes } from 'node:crypto';
import { CommandBus } from '../../application/command-bus';
import { fillPool, MAX_CONSECUTIVE_DISCARDS } from '../../application/keypool/fill-pool';
import { commitmentOf, KeyPool } from '../../application/keypool/key-pool';
import { KeyBlock, KeySource } from '../../application/ports/key-source';
import { commandRoutes } from '../../application/routes';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { Bb84KeySource } from '../../infrastructure/key-sources/bb84';
import { SqliteKeyVault } from '../../infrastructure/keys/sqlite-key-vault';
import { seededRandom } from '../../qkd/random';
import { wrappingKey } from './support';

const SYSTEM = { id: 'qkmp-keys', role: 'SYSTEM' } as const;
const commitmentKey = randomBytes(32);

const setUp = () => {
  const store = new InMemoryEventStore();
  const bus = new CommandBus(store, commandRoutes);
  const vault = SqliteKeyVault.open(':memory:', wrappingKey());
  return { store, bus, vault, pool: new KeyPool(bus, vault, commitmentKey) };
};

const bb84 = (seed: number, eavesdropFraction = 0, pulsesPerBlock = 200_000) =>
  new Bb84KeySource({
    sourceId: 'bb84',
    authenticationKey: new Uint8Array(32).fill(7),
    pulsesPerBlock,
    link: { eavesdropFraction },
    random: seededRandom(seed),
  });

/** Blocks of key that a test chooses, to follow them into the vault. */
const scripted = (blocks: KeyBlock[]): KeySource => ({
  sourceId: 'scripted',
  description: 'scripted blocks',
  next: async () => [blocks.shift()!],
  close: async () => {},
});

describe('filling the key pool from a key source', () => {
  it('given a BB84 link, when 2000 bytes are asked for, then blocks are ingested with QBER, efficiency and keyed commitments, and the vault holds them', async () => {
    const { store, vault, pool } = setUp();
    const progress: number[] = [];
    const report = await fillPool(pool, bb84(11), SYSTEM, 2000, (p) => progress.push(p.ingestedBytes));
    if (E.isLeft(report)) throw new Error(report.left.message);
    expect(report.right.ingestedBytes).toBeGreaterThanOrEqual(2000);
    expect(report.right.qber!.mean).toBeGreaterThan(0.005);
    expect(report.right.qber!.max).toBeLessThan(0.04);
    expect(report.right.efficiency).toBeGreaterThan(1);
    expect(report.right.efficiency).toBeLessThan(1.2);
    expect(progress[progress.length - 1]).toBe(report.right.ingestedBytes);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    const ingested = (await store.readAll()).filter((e) => e.type === 'KeyMaterialIngested');
    expect(ingested).toHaveLength(report.right.blocks);
    expect(await vault.held('bb84')).toBe(report.right.ingestedBytes);
    for (const event of ingested) {
      const { blockId, offset, length, commitment, qber } = event.data as Record<string, number & string>;
      expect(qber).toBeGreaterThan(0);
      // The commitment binds the bytes the vault holds at the recorded place.
      expect(commitment).toBe(commitmentOf(commitmentKey, `bb84/${blockId}`, await vault.read('bb84', offset, length)));
      expect(Object.keys(event.data as object).sort()).toEqual(['blockId', 'commitment', 'length', 'offset', 'qber', 'sourceId']);
    }
  });

  it('given an eavesdropper on every pulse, when the pool is filled, then every block is discarded and recorded, and the fill stops with advice', async () => {
    const { store, vault, pool } = setUp();
    const report = await fillPool(pool, bb84(12, 1, 40_000), SYSTEM, 5000);
    if (E.isLeft(report)) throw new Error(report.left.message);
    expect(report.right).toMatchObject({ ingestedBytes: 0, blocks: 0, discarded: MAX_CONSECUTIVE_DISCARDS });
    expect(report.right.stoppedBecause).toMatch(/11%/);
    const discarded = (await store.readAll()).filter((e) => e.type === 'KeyBlockDiscarded');
    expect(discarded).toHaveLength(MAX_CONSECUTIVE_DISCARDS);
    expect((discarded[0].data as { reason: string }).reason).toMatch(/QBER/);
    expect(await vault.held('bb84')).toBe(0);
  });

  it('given bytes a crashed ingestion left past the end of the pool, when the pool is filled again, then they are shredded and the new block takes their place', async () => {
    const { vault, pool } = setUp();
    const first = randomBytes(64);
    const [orphan, second] = [randomBytes(32), randomBytes(48)];
    const block = (blockId: string, key: Buffer): KeyBlock => ({ ok: true, blockId, key, qber: 0.02, figures: {} });
    await fillPool(pool, scripted([block('block-1', first)]), SYSTEM, 64);
    await vault.store('scripted', 64, orphan); // stored, never recorded: the process died here
    const report = await fillPool(pool, scripted([block('block-2', second)]), SYSTEM, 48);
    expect(E.isRight(report) && report.right.ingestedBytes).toBe(48);
    expect(await vault.held('scripted')).toBe(64 + 48);
    expect(await vault.read('scripted', 64, 48)).toEqual(second);
    expect(await vault.read('scripted', 0, 64)).toEqual(first);
  });
});
