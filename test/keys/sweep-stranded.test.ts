import * as E from 'fp-ts/Either';
import { randomBytes } from 'node:crypto';
import { CommandBus } from '../../application/command-bus';
import { CommandError } from '../../application/errors';
import { KeyPool } from '../../application/keypool/key-pool';
import { sweepStranded } from '../../application/keypool/sweep-stranded';
import { commandRoutes } from '../../application/routes';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { SqliteKeyVault } from '../../infrastructure/keys/sqlite-key-vault';
import { wrappingKey } from './support';

// The server's sweep of reservations a stopped process left, on its own timer.

const SYSTEM = { id: 'test', role: 'SYSTEM' } as const;
const SOURCE = 'bb84';

describe('sweeping stranded reservations', () => {
  it('leaves a reservation younger than its age alone, and destroys it on a timed pass once it is older', async () => {
    const store = new InMemoryEventStore();
    const vault = SqliteKeyVault.open(':memory:', wrappingKey());
    const pool = new KeyPool(new CommandBus(store, commandRoutes), vault, randomBytes(32));
    const reports: E.Either<CommandError, readonly string[]>[] = [];
    const sweep = sweepStranded(pool, SYSTEM, SOURCE, 200, (outcome) => reports.push(outcome));
    try {
      expect(E.isRight(await pool.ingest(SYSTEM, SOURCE, { blockId: 'block-1', key: randomBytes(1024), qber: 0.02 }))).toBe(true);
      expect(E.isRight(await pool.take(SYSTEM, SOURCE, 'r-1', 16, 'charge-1'))).toBe(true);
      expect(await sweep.once()).toEqual(E.right([]));
      for (let i = 0; i < 50 && reports.every((r) => E.isRight(r) && r.right.length === 0); i++) await new Promise((r) => setTimeout(r, 100));
      expect(reports.filter((r) => E.isLeft(r) || r.right.length > 0)).toEqual([E.right(['r-1'])]);
      const state = await pool.state(SOURCE);
      expect(E.isRight(state) && state.right.state.ranges.get('r-1')?.status).toBe('DESTROYED');
    } finally {
      await sweep.stop();
      await vault.close();
      await store.close();
    }
  });
});
