import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { createPrincipal } from '../../application/access';
import { Actor } from '../../application/command-envelope';
import { CommandBus } from '../../application/command-bus';
import { SaeKeyDelivery } from '../../application/keydelivery/sae-key-delivery';
import { KeyPool } from '../../application/keypool/key-pool';
import { EventStore } from '../../application/ports/event-store';
import { KeyMaterialMissingError } from '../../application/ports/key-vault';
import { commandRoutes } from '../../application/routes';
import { KeyPoolState } from '../../domain/keypool';
import { saeKeysAggregate } from '../../domain/saekeys';
import { openEventStore } from '../../infrastructure/event-store/open';
import { MasterKey } from '../../infrastructure/keys/master-key';
import { SqliteKeyVault } from '../../infrastructure/keys/sqlite-key-vault';
import { ROOT } from '../support/qkmp-process';

// The key pool against its real files (an SQLite event log and an SQLite key vault): random
// ingestions, bursts of concurrent allocations that succeed, fail or are cut short by a crash,
// ETSI key requests and deliveries, and restarts from the files with fresh caches. After every
// step: no byte is handed out twice, the balance adds up, destroyed key is gone from the vault and
// issued key reads back as it was handed out; after every recovery nothing is left RESERVED.
// Last, a real process allocating in a loop is killed outright, and the files must still hold.

const SOURCE = 'pool-under-test';
const MASTER = 'GATEWAY-MASTER';
const SLAVE = 'GATEWAY-SLAVE';
const SYSTEM: Actor = { id: 'key-pool-property', role: 'SYSTEM' };
const MASTER_KEY = MasterKey.fromBytes(Buffer.alloc(32, 7));

/** Bytes that depend only on `seed`, so a failing run replays with the same key. */
const bytesOf = (seed: string, length: number): Buffer => {
  const blocks: Buffer[] = [];
  for (let i = 0; i * 32 < length; i++) blocks.push(createHash('sha256').update(`${seed}/${i}`).digest());
  return Buffer.concat(blocks).subarray(0, length);
};

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** The platform's write side over two files, opened as the server opens it. */
interface Platform {
  readonly store: EventStore;
  readonly vault: SqliteKeyVault;
  readonly bus: CommandBus;
  readonly pool: KeyPool;
  readonly delivery: SaeKeyDelivery;
}

const openPlatform = (dir: string): Platform => {
  const store = openEventStore({ kind: 'sqlite', file: path.join(dir, 'events.db') }, MASTER_KEY.derive('audit-chain/v1'));
  const vault = SqliteKeyVault.open(path.join(dir, 'vault.db'), MASTER_KEY.derive('key-vault/v1'));
  const bus = new CommandBus(store, commandRoutes);
  const pool = new KeyPool(bus, vault, MASTER_KEY.derive('key-commitment/v1'));
  return { store, vault, bus, pool, delivery: new SaeKeyDelivery(bus, pool, SOURCE, 'KME-UNDER-TEST') };
};

const closePlatform = async (platform: Platform): Promise<void> => {
  await platform.vault.close();
  await platform.store.close();
};

/** What the test saw handed out: by range id, the bytes (or their digest) each take returned. */
interface Model {
  ingested: number;
  readonly taken: Map<string, { offset: number; length: number; digest: string; crashed: boolean }>;
  /** ETSI keys the master received, by key ID, with how often the slave received each. */
  readonly keys: Map<string, { digest: string; deliveries: number }>;
}

const emptyModel = (): Model => ({ ingested: 0, taken: new Map(), keys: new Map() });

const unreadable = async (platform: Platform, offset: number, length: number): Promise<boolean> => {
  try {
    await platform.vault.read(SOURCE, offset, length);
    return false;
  } catch (error) {
    if (error instanceof KeyMaterialMissingError) return true;
    throw error;
  }
};

const digestAt = async (platform: Platform, offset: number, length: number): Promise<string> =>
  sha256(await platform.vault.read(SOURCE, offset, length));

const loadPool = async (platform: Platform): Promise<KeyPoolState> => {
  const loaded = await platform.pool.state(SOURCE);
  if (E.isLeft(loaded)) throw new Error(loaded.left.message);
  return loaded.right.state;
};

/** The invariants, from the log as it is now and the vault's contents. */
const checkInvariants = async (platform: Platform, model: Model, recovered: boolean): Promise<void> => {
  const state = await loadPool(platform);
  const { ingested, available, reserved, issued, frozen, consumed, destroyed } = state.balance;
  expect(ingested).toBe(model.ingested);
  expect(available + reserved + issued + frozen + consumed + destroyed).toBe(ingested);
  if (recovered) expect(reserved).toBe(0);

  // Ranges never overlap (none is released here), and stay on the pool's line.
  const ranges = [...state.ranges.values()].sort((a, b) => a.offset - b.offset);
  for (const [i, range] of ranges.entries()) {
    expect(range.status).not.toBe('RELEASED');
    expect(range.offset + range.length).toBeLessThanOrEqual(i + 1 < ranges.length ? ranges[i + 1].offset : ingested);
  }

  // No byte offset was handed out twice: every take the test saw is a range of the log, and every
  // key the master received a slice of one; all of them disjoint.
  const held = await platform.bus.load(saeKeysAggregate, MASTER);
  if (E.isLeft(held)) throw new Error(held.left.message);
  const places = held.right.state.keys;
  for (const [rangeId, take] of model.taken) expect(state.ranges.get(rangeId)).toMatchObject({ offset: take.offset, length: take.length });
  const handed = [...model.taken.values(), ...[...model.keys.keys()].map((keyId) => places.get(keyId)!)].sort((a, b) => a.offset - b.offset);
  for (let i = 0; i + 1 < handed.length; i++) expect(handed[i].offset + handed[i].length).toBeLessThanOrEqual(handed[i + 1].offset);

  // ETSI keys: each reached its slave at most once, and the log agrees on which did.
  for (const [keyId, key] of model.keys) {
    expect(key.deliveries).toBeLessThanOrEqual(1);
    expect(places.get(keyId)?.deliveredTo).toBe(key.deliveries === 1 ? SLAVE : undefined);
  }

  // The vault: what the log says is gone is unreadable; what it says is out reads back as handed out.
  let deliveredInIssued = 0;
  for (const range of ranges) {
    const take = model.taken.get(range.rangeId);
    switch (range.status) {
      case 'DESTROYED':
      case 'CONSUMED':
        expect(await unreadable(platform, range.offset, range.length)).toBe(true);
        break;
      case 'RESERVED':
        // Only a crash leaves a range reserved with its bytes still there; a failed destroy shreds first.
        if (take?.crashed) expect(await digestAt(platform, range.offset, range.length)).toBe(take.digest);
        break;
      case 'ISSUED': {
        if (take !== undefined) {
          expect(await digestAt(platform, range.offset, range.length)).toBe(take.digest);
          break;
        }
        const rangeKeys = [...places.values()].filter((k) => k.rangeId === range.rangeId);
        expect(rangeKeys.reduce((sum, k) => sum + k.length, 0)).toBe(range.length);
        for (const k of rangeKeys) {
          if (k.deliveredTo !== undefined) {
            deliveredInIssued += k.length;
            expect(await unreadable(platform, k.offset, k.length)).toBe(true);
          } else {
            expect(await digestAt(platform, k.offset, k.length)).toBe(model.keys.get(k.keyId)?.digest);
          }
        }
        break;
      }
      default:
        throw new Error(`no step here freezes or releases a range, yet ${range.rangeId} is ${range.status}`);
    }
  }
  // Nothing else is held: every shredded byte is accounted for (a failed step can only shred more).
  const heldBytes = await platform.vault.held(SOURCE);
  const expectedHeld = available + issued + frozen - deliveredInIssued;
  if (recovered) expect(heldBytes).toBe(expectedHeld);
  else expect(heldBytes).toBeLessThanOrEqual(expectedHeld + reserved);
};

type Allocation =
  | { readonly kind: 'issue' | 'fail' | 'crash'; readonly length: number }
  | { readonly kind: 'encKeys'; readonly number: number; readonly size: number }
  | { readonly kind: 'decKeys'; readonly pick: readonly number[] };

type Step =
  | { readonly kind: 'ingest'; readonly length: number }
  | { readonly kind: 'concurrently'; readonly allocations: readonly Allocation[] }
  | { readonly kind: 'restart' };

const allocation: fc.Arbitrary<Allocation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('issue' as const), length: fc.integer({ min: 1, max: 96 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('fail' as const), length: fc.integer({ min: 1, max: 96 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('crash' as const), length: fc.integer({ min: 1, max: 96 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('encKeys' as const), number: fc.integer({ min: 1, max: 4 }), size: fc.constantFrom(64, 128, 256) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('decKeys' as const), pick: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }) },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('ingest' as const), length: fc.integer({ min: 64, max: 512 }) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('concurrently' as const), allocations: fc.array(allocation, { minLength: 1, maxLength: 5 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

describe('the key pool over its SQLite files, under concurrency and crashes', () => {
  let root: string;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-pool-property-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  /** Runs one allocation; records in the model what it handed out, the moment it was handed out. */
  const allocate = async (platform: Platform, model: Model, a: Allocation, id: string): Promise<void> => {
    if (a.kind === 'encKeys') {
      const keys = await platform.delivery.encKeys(MASTER, SLAVE, { number: a.number, size: a.size });
      if (E.isRight(keys)) for (const k of keys.right) model.keys.set(k.keyId, { digest: sha256(k.key), deliveries: 0 });
      return;
    }
    if (a.kind === 'decKeys') {
      const waiting = [...model.keys].filter(([, k]) => k.deliveries === 0).map(([keyId]) => keyId);
      if (waiting.length === 0) return;
      const keyIds = [...new Set(a.pick.map((i) => waiting[i % waiting.length]))];
      const fetched = await platform.delivery.decKeys(SLAVE, MASTER, keyIds);
      if (E.isRight(fetched)) {
        for (const k of fetched.right) {
          const known = model.keys.get(k.keyId)!;
          expect(sha256(k.key)).toBe(known.digest);
          known.deliveries++;
        }
      }
      return;
    }
    const rangeId = `range-${id}`;
    const taken = await platform.pool.take(SYSTEM, SOURCE, rangeId, a.length, `request-${id}`);
    if (E.isLeft(taken)) {
      expect(['INSUFFICIENT_KEY', 'CONFLICT']).toContain(taken.left.code);
      return;
    }
    const { offset, length, material } = taken.right;
    model.taken.set(rangeId, { offset, length, digest: sha256(material), crashed: a.kind === 'crash' });
    if (a.kind === 'crash') return; // the process is gone before the range is issued
    if (a.kind === 'fail') {
      await platform.pool.destroy(SYSTEM, SOURCE, rangeId, 'the charge was refused');
      return;
    }
    const issued = await platform.pool.issue(SYSTEM, SOURCE, rangeId, 'HOLDER-0001');
    // As the platform's callers do: a range that cannot be issued is destroyed, never reissued.
    if (E.isLeft(issued)) await platform.pool.destroy(SYSTEM, SOURCE, rangeId, 'the range could not be issued');
  };

  const restart = async (platform: Platform, dir: string, model: Model): Promise<Platform> => {
    const reservedBefore = [...(await loadPool(platform)).ranges.values()].filter((r) => r.status === 'RESERVED').map((r) => r.rangeId);
    await closePlatform(platform);
    const reopened = openPlatform(dir);
    const recovered = await reopened.pool.recover(SYSTEM, SOURCE);
    expect(E.isRight(recovered) && [...recovered.right].sort()).toEqual(reservedBefore.sort());
    await checkInvariants(reopened, model, true);
    return reopened;
  };

  it('keeps every invariant through concurrent allocations, failures, crashes and restarts', async () => {
    let run = 0;
    await fc.assert(
      // Every run starts with key in the pool, so that most allocations have something to take.
      fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 14 }), async (random) => {
        const steps: Step[] = [{ kind: 'ingest', length: 512 }, ...random];
        const dir = path.join(root, `run-${run++}`);
        let platform = openPlatform(dir);
        const model = emptyModel();
        try {
          for (const id of [MASTER, SLAVE]) {
            expect(E.isRight(await createPrincipal(platform.bus, { name: id, role: 'GATEWAY', principalId: id }))).toBe(true);
          }
          for (const [i, s] of steps.entries()) {
            if (s.kind === 'ingest') {
              const ingested = await platform.pool.ingest(SYSTEM, SOURCE, { blockId: `block-${i}`, key: bytesOf(`${dir}/${i}`, s.length), qber: 0.02 });
              expect(E.isRight(ingested)).toBe(true);
              model.ingested += s.length;
            } else if (s.kind === 'concurrently') {
              await Promise.all(s.allocations.map((a, j) => allocate(platform, model, a, `${i}-${j}`)));
            } else {
              platform = await restart(platform, dir, model);
              continue;
            }
            await checkInvariants(platform, model, false);
          }
          platform = await restart(platform, dir, model);
        } finally {
          await closePlatform(platform);
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 50 },
    );
  }, 120_000);

  it('keeps them when a process allocating in a loop is killed at a random moment', async () => {
    const dir = path.join(root, 'killed');
    const model = emptyModel();
    let platform = openPlatform(dir);
    for (let i = 0; i < 16; i++) {
      expect(E.isRight(await platform.pool.ingest(SYSTEM, SOURCE, { blockId: `block-${i}`, key: bytesOf(`killed/${i}`, 1024), qber: 0.02 }))).toBe(true);
      model.ingested += 1024;
    }
    await closePlatform(platform);

    const dist = path.join(ROOT, 'dist');
    expect(fs.existsSync(path.join(dist, 'application', 'keypool', 'key-pool.js'))).toBe(true); // built by the test command
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, ['-e', ALLOCATING_LOOP], {
        env: { ...process.env, DIST: dist, DIR: dir, SOURCE, ROUND: String(round), MASTER_KEY: Buffer.alloc(32, 7).toString('base64') },
      });
      let output = '';
      child.stdout.on('data', (chunk) => (output += chunk));
      child.stderr.on('data', (chunk) => (output += chunk));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      // Kill it some time after its first allocation, wherever it is then.
      await new Promise<void>((resolve, reject) => {
        const onData = () => {
          if (!output.includes('TAKEN')) return;
          child.stdout.off('data', onData);
          setTimeout(resolve, 20 + Math.floor(Math.random() * 200));
        };
        child.stdout.on('data', onData);
        child.once('exit', () => reject(new Error(`the allocating process ended on its own: ${output}`)));
      });
      child.kill('SIGKILL');
      await exited;

      // Only whole lines: the last one may have been cut by the kill.
      for (const line of output.split('\n').slice(0, -1)) {
        const [word, rangeId, offset, length, digest] = line.split(' ');
        if (word === 'TAKEN') model.taken.set(rangeId, { offset: Number(offset), length: Number(length), digest, crashed: true });
      }
      expect(model.taken.size).toBeGreaterThan(0);
      platform = openPlatform(dir);
      const recovered = await platform.pool.recover(SYSTEM, SOURCE);
      expect(E.isRight(recovered)).toBe(true);
      await checkInvariants(platform, model, true);
      await closePlatform(platform);
    }
  }, 60_000);
});

/**
 * Three concurrent loops taking ranges through the built platform: most are issued, every third
 * destroyed. Each take is printed (range, offset, length and the digest of its bytes, never the
 * bytes) the moment it returns, before the range is issued or destroyed.
 */
const ALLOCATING_LOOP = `
const path = require('node:path');
const { createHash } = require('node:crypto');
const dist = process.env.DIST;
const { openEventStore } = require(path.join(dist, 'infrastructure/event-store/open.js'));
const { SqliteKeyVault } = require(path.join(dist, 'infrastructure/keys/sqlite-key-vault.js'));
const { MasterKey } = require(path.join(dist, 'infrastructure/keys/master-key.js'));
const { CommandBus } = require(path.join(dist, 'application/command-bus.js'));
const { commandRoutes } = require(path.join(dist, 'application/routes.js'));
const { KeyPool } = require(path.join(dist, 'application/keypool/key-pool.js'));
const { DIR, SOURCE, ROUND } = process.env;
const key = MasterKey.fromBytes(Buffer.from(process.env.MASTER_KEY, 'base64'));
const store = openEventStore({ kind: 'sqlite', file: path.join(DIR, 'events.db') }, key.derive('audit-chain/v1'));
const vault = SqliteKeyVault.open(path.join(DIR, 'vault.db'), key.derive('key-vault/v1'));
const pool = new KeyPool(new CommandBus(store, commandRoutes), vault, key.derive('key-commitment/v1'));
const actor = { id: 'allocating-loop', role: 'SYSTEM' };
const loop = async (worker) => {
  for (let i = 0; ; i++) {
    const rangeId = 'killed-' + ROUND + '-' + worker + '-' + i;
    const taken = await pool.take(actor, SOURCE, rangeId, 1 + ((i * 37 + worker * 11) % 48), rangeId);
    if (taken._tag === 'Left') {
      if (taken.left.code === 'INSUFFICIENT_KEY') return;
      continue;
    }
    const { offset, length, material } = taken.right;
    process.stdout.write(['TAKEN', rangeId, offset, length, createHash('sha256').update(material).digest('hex')].join(' ') + '\\n');
    if (i % 3 === 2) await pool.destroy(actor, SOURCE, rangeId, 'refused');
    else await pool.issue(actor, SOURCE, rangeId, 'HOLDER-0001');
  }
};
Promise.all([0, 1, 2].map(loop)).then(() => process.stdout.write('EXHAUSTED\\n'));
`;
