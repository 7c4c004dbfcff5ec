import * as fc from 'fast-check';
import * as E from 'fp-ts/Either';
import {
  initialKeyPoolState,
  KeyPoolCommand,
  KeyPoolEvent,
  keyPoolAggregate,
  KeyPoolState,
  poolBalance,
  rangeOf,
  RangeStatus,
} from '../../../domain/keypool';
import { fold } from '../../../domain/shared/aggregate';
import { decodeMessage } from '../../../domain/shared/codec';
import { scenario } from '../../support/given-when-then';

const pool = 'bb84-link-1';
const commitment = 'c0'.repeat(32);
const serial = 'UKEY-000001';

const given = (...events: KeyPoolEvent[]) => scenario(keyPoolAggregate).given(...events);
const command = (type: KeyPoolCommand['type'], data: Record<string, unknown>) => ({
  type,
  data: { sourceId: pool, ...data },
});

const place = (rangeId: string, offset: number, length: number) => ({ sourceId: pool, rangeId, offset, length });
const ingested = (blockId: string, offset: number, length: number): KeyPoolEvent => ({
  type: 'KeyMaterialIngested',
  data: { sourceId: pool, blockId, offset, length, qber: 0.03, commitment },
});
const reserved = (rangeId: string, offset: number, length: number, chargeId = 'charge-1'): KeyPoolEvent => ({
  type: 'KeyRangeReserved',
  data: { ...place(rangeId, offset, length), chargeId },
});
const issued = (rangeId: string, offset: number, length: number): KeyPoolEvent => ({
  type: 'KeyRangeIssued',
  data: { ...place(rangeId, offset, length), deviceSerial: serial },
});
const released = (rangeId: string, offset: number, length: number): KeyPoolEvent => ({
  type: 'KeyRangeReleased',
  data: place(rangeId, offset, length),
});
const frozen = (rangeId: string, offset: number, length: number): KeyPoolEvent => ({
  type: 'KeyRangeFrozen',
  data: { ...place(rangeId, offset, length), reason: 'device reported lost' },
});
const restored = (rangeId: string, offset: number, length: number): KeyPoolEvent => ({
  type: 'KeyRangeRestored',
  data: place(rangeId, offset, length),
});
const consumed = (rangeId: string, offset: number, length: number): KeyPoolEvent => ({
  type: 'KeyRangeConsumed',
  data: place(rangeId, offset, length),
});
const destroyed = (
  rangeId: string,
  offset: number,
  length: number,
  previousStatus: 'RESERVED' | 'ISSUED' | 'FROZEN' | 'CONSUMED',
): KeyPoolEvent => ({
  type: 'KeyRangeDestroyed',
  data: { ...place(rangeId, offset, length), previousStatus, reason: 'charge failed' },
});

// A pool of one 1000-byte block whose range r1 = [200, 300) is in each status; [0, 200) is r0, issued.
const opened = [ingested('block-1', 0, 1000), reserved('r0', 0, 200), issued('r0', 0, 200), reserved('r1', 200, 100)];
const r1In: Record<RangeStatus, KeyPoolEvent[]> = {
  RESERVED: opened,
  ISSUED: [...opened, issued('r1', 200, 100)],
  FROZEN: [...opened, issued('r1', 200, 100), frozen('r1', 200, 100)],
  CONSUMED: [...opened, issued('r1', 200, 100), consumed('r1', 200, 100)],
  DESTROYED: [...opened, destroyed('r1', 200, 100, 'RESERVED')],
  RELEASED: [...opened, released('r1', 200, 100)],
};
const statuses = Object.keys(r1In) as RangeStatus[];
const except = (...allowed: RangeStatus[]) => statuses.filter((status) => !allowed.includes(status));
const stateAfter = (...events: KeyPoolEvent[]): KeyPoolState =>
  fold(keyPoolAggregate.evolve, initialKeyPoolState, events);

describe('key pool: IngestKeyMaterial', () => {
  const ingest = (blockId: string, length: number) =>
    command('IngestKeyMaterial', { blockId, length, qber: 0.03, commitment });

  it('creates the pool with the first block at offset 0', () => {
    given().when(ingest('block-1', 1000)).then(ingested('block-1', 0, 1000));
  });

  it('appends a later block after every byte ingested before', () => {
    given(ingested('block-1', 0, 1000), ingested('block-2', 1000, 24))
      .when(ingest('block-3', 500))
      .then(ingested('block-3', 1024, 500));
  });

  it('refuses a block id seen before, saying where it went', () => {
    const error = given(ingested('block-1', 0, 1000), ingested('block-2', 1000, 24))
      .when(ingest('block-2', 24))
      .thenError('ALREADY_EXISTS', /key block block-2 was already ingested at offset 1000; do not ingest it twice/);
    expect(error.details).toMatchObject({ entity: 'key block', id: 'block-2' });
  });

  it('names each malformed field and its rule', () => {
    const error = given()
      .when(command('IngestKeyMaterial', { blockId: 'block-1', length: 0, qber: 1.5, commitment: 'C0'.repeat(32) }))
      .thenError('INVALID_INPUT');
    expect(error.issues).toEqual([
      { field: 'data.length', rule: 'must be a whole number greater than 0' },
      { field: 'data.qber', rule: 'must be a number from 0 to 1' },
      { field: 'data.commitment', rule: 'must be a SHA-256 digest as 64 lowercase hex characters' },
    ]);
  });
});

describe('key pool: ReserveKeyRange', () => {
  const reserve = (rangeId: string, length: number) =>
    command('ReserveKeyRange', { rangeId, length, chargeId: 'charge-1' });

  it('carves the range from the lowest offset', () => {
    given(ingested('block-1', 0, 1000)).when(reserve('r1', 100)).then(reserved('r1', 0, 100));
  });

  it('spans adjacent blocks, which form one segment', () => {
    given(ingested('block-1', 0, 100), ingested('block-2', 100, 100))
      .when(reserve('r1', 150))
      .then(reserved('r1', 0, 150));
  });

  it('takes the first hole that fits, skipping smaller ones', () => {
    // Free after the history: [100, 150) (50 bytes), [250, 450) (200 bytes), [500, 1000).
    given(
      ingested('block-1', 0, 1000),
      reserved('r1', 0, 100),
      reserved('r2', 100, 50),
      reserved('r3', 150, 100),
      reserved('r4', 250, 200),
      reserved('r5', 450, 50),
      released('r2', 100, 50),
      released('r4', 250, 200),
    )
      .when(reserve('r6', 120))
      .then(reserved('r6', 250, 120));
  });

  it('refuses more bytes than are available, and says how many are', () => {
    const error = given(ingested('block-1', 0, 1000), reserved('r1', 0, 900))
      .when(reserve('r2', 101))
      .thenError('INSUFFICIENT_KEY', /has 100 bytes available, 101 requested; generate or ingest more key/);
    expect(error.details).toEqual({ sourceId: pool, requested: 101, available: 100, largestSegment: 100 });
  });

  it('refuses when enough bytes are free but no segment holds them, naming the largest segment', () => {
    given(
      ingested('block-1', 0, 300),
      reserved('r1', 0, 100),
      reserved('r2', 100, 100),
      reserved('r3', 200, 100),
      released('r1', 0, 100),
      released('r3', 200, 100),
    )
      .when(reserve('r4', 150))
      .thenError(
        'INSUFFICIENT_KEY',
        /has 200 bytes available but its largest contiguous segment is 100 bytes, 150 requested; reserve at most 100/,
      );
  });

  it.each(statuses)('refuses a range id taken by a range that is %s', (status) => {
    given(...r1In[status])
      .when(reserve('r1', 10))
      .thenError('ALREADY_EXISTS', /key range r1 already exists; choose another id/);
  });

  it('refuses on a pool that does not exist', () => {
    given()
      .when(reserve('r1', 10))
      .thenError('NOT_FOUND', `key pool ${pool} does not exist; ingest key material into it first`);
  });

  it('names each malformed field and its rule', () => {
    const error = given(ingested('block-1', 0, 1000))
      .when(command('ReserveKeyRange', { rangeId: 'r 1', length: 2.5 }))
      .thenError('INVALID_INPUT');
    expect(error.issues).toEqual([
      { field: 'data.rangeId', rule: expect.stringMatching(/^must be an identifier/) },
      { field: 'data.length', rule: 'must be a whole number greater than 0' },
      { field: 'data.chargeId', rule: expect.stringMatching(/^is required \(an identifier/) },
    ]);
  });
});

describe('key pool: range life cycle', () => {
  const rangeCommand = (type: KeyPoolCommand['type'], extra: Record<string, unknown> = {}) =>
    command(type, { rangeId: 'r1', ...extra });
  const issue = rangeCommand('IssueKeyRange', { deviceSerial: serial });
  const release = rangeCommand('ReleaseKeyRange');
  const freeze = rangeCommand('FreezeKeyRange', { reason: 'device reported lost' });
  const restore = rangeCommand('RestoreKeyRange');
  const consume = rangeCommand('ConsumeKeyRange');
  const destroy = rangeCommand('DestroyKeyRange', { reason: 'charge failed' });

  describe('IssueKeyRange', () => {
    it('issues a reserved range to a device, with the offset and length it was reserved at', () => {
      given(...r1In.RESERVED).when(issue).then(issued('r1', 200, 100));
    });

    it.each(except('RESERVED'))('refuses a range that is %s: a range is issued once', (status) => {
      given(...r1In[status])
        .when(issue)
        .thenError(
          'INVALID_STATE',
          `cannot issue key range r1 while it is ${status}; a range is issued once; reserve a new range for another charge`,
        );
    });

    it('names a malformed device serial', () => {
      const error = given(...r1In.RESERVED)
        .when(rangeCommand('IssueKeyRange', { deviceSerial: 'ukey 1' }))
        .thenError('INVALID_INPUT');
      expect(error.issues).toEqual([
        { field: 'data.deviceSerial', rule: expect.stringMatching(/^must be a device serial number/) },
      ]);
    });
  });

  describe('ReleaseKeyRange', () => {
    it('gives a reserved range back to the pool', () => {
      given(...r1In.RESERVED).when(release).then(released('r1', 200, 100));
    });

    it.each(['ISSUED', 'FROZEN', 'CONSUMED'] as const)(
      'refuses a range that is %s: key that left the platform is destroyed',
      (status) => {
        given(...r1In[status])
          .when(release)
          .thenError('INVALID_STATE', /key that left the platform is destroyed, never released; destroy it instead/);
      },
    );

    it('refuses a released range', () => {
      given(...r1In.RELEASED)
        .when(release)
        .thenError('INVALID_STATE', /while it is RELEASED; it is already released; nothing to do/);
    });

    it('refuses a destroyed range', () => {
      given(...r1In.DESTROYED)
        .when(release)
        .thenError('INVALID_STATE', /while it is DESTROYED; a destroyed range is final/);
    });

    it('names a missing range id', () => {
      const error = given(...r1In.RESERVED).when(command('ReleaseKeyRange', {})).thenError('INVALID_INPUT');
      expect(error.issues).toEqual([
        { field: 'data.rangeId', rule: expect.stringMatching(/^is required \(an identifier/) },
      ]);
    });
  });

  describe('FreezeKeyRange', () => {
    it('suspends an issued range', () => {
      given(...r1In.ISSUED).when(freeze).then(frozen('r1', 200, 100));
    });

    it('refuses a frozen range, pointing to restore', () => {
      given(...r1In.FROZEN).when(freeze).thenError('INVALID_STATE', /it is already frozen; restore it to use it again/);
    });

    it.each(except('ISSUED', 'FROZEN'))('refuses a range that is %s', (status) => {
      given(...r1In[status])
        .when(freeze)
        .thenError(
          'INVALID_STATE',
          `cannot freeze key range r1 while it is ${status}; only an ISSUED range can be frozen`,
        );
    });

    it('names a blank reason', () => {
      const error = given(...r1In.ISSUED)
        .when(rangeCommand('FreezeKeyRange', { reason: '   ' }))
        .thenError('INVALID_INPUT');
      expect(error.issues).toEqual([{ field: 'data.reason', rule: 'must be text of 1 to 200 characters' }]);
    });
  });

  describe('RestoreKeyRange', () => {
    it('makes a frozen range active again', () => {
      given(...r1In.FROZEN).when(restore).then(restored('r1', 200, 100));
    });

    it.each(except('FROZEN'))('refuses a range that is %s', (status) => {
      given(...r1In[status])
        .when(restore)
        .thenError(
          'INVALID_STATE',
          `cannot restore key range r1 while it is ${status}; only a FROZEN range can be restored`,
        );
    });

    it('names a malformed source id', () => {
      const error = given(...r1In.FROZEN)
        .when({ type: 'RestoreKeyRange', data: { sourceId: '', rangeId: 'r1' } })
        .thenError('INVALID_INPUT');
      expect(error.issues).toEqual([{ field: 'data.sourceId', rule: expect.stringMatching(/^must be an identifier/) }]);
    });
  });

  describe('ConsumeKeyRange', () => {
    it('deactivates an issued range', () => {
      given(...r1In.ISSUED).when(consume).then(consumed('r1', 200, 100));
    });

    it('refuses a frozen range until it is restored', () => {
      given(...r1In.FROZEN).when(consume).thenError('INVALID_STATE', /while it is FROZEN; restore it first/);
    });

    it.each(except('ISSUED', 'FROZEN'))('refuses a range that is %s', (status) => {
      given(...r1In[status])
        .when(consume)
        .thenError(
          'INVALID_STATE',
          `cannot consume key range r1 while it is ${status}; only an ISSUED range can be consumed`,
        );
    });

    it('names a range id that is not a string', () => {
      const error = given(...r1In.ISSUED)
        .when(rangeCommand('ConsumeKeyRange', { rangeId: 7 }))
        .thenError('INVALID_INPUT');
      expect(error.issues).toEqual([{ field: 'data.rangeId', rule: expect.stringMatching(/^must be an identifier/) }]);
    });
  });

  describe('DestroyKeyRange', () => {
    const destroyable = ['RESERVED', 'ISSUED', 'FROZEN', 'CONSUMED'] as const;
    it.each(destroyable)('destroys a range that is %s, for good', (status) => {
      given(...r1In[status]).when(destroy).then(destroyed('r1', 200, 100, status));
    });

    it('refuses a destroyed range', () => {
      given(...r1In.DESTROYED)
        .when(destroy)
        .thenError('INVALID_STATE', /while it is DESTROYED; it is already destroyed; nothing to do/);
    });

    it('refuses a released range, whose bytes are back in the pool', () => {
      given(...r1In.RELEASED)
        .when(destroy)
        .thenError('INVALID_STATE', /while it is RELEASED; its bytes went back to the pool unused; there is nothing/);
    });

    it('names a missing reason', () => {
      const error = given(...r1In.ISSUED).when(rangeCommand('DestroyKeyRange')).thenError('INVALID_INPUT');
      expect(error.issues).toEqual([{ field: 'data.reason', rule: 'is required (text of 1 to 200 characters)' }]);
    });
  });

  describe.each([
    ['IssueKeyRange', issue],
    ['ReleaseKeyRange', release],
    ['FreezeKeyRange', freeze],
    ['RestoreKeyRange', restore],
    ['ConsumeKeyRange', consume],
    ['DestroyKeyRange', destroy],
  ])('%s', (_, rangeCommandInput) => {
    it('refuses an unknown range', () => {
      const error = given(ingested('block-1', 0, 1000))
        .when(rangeCommandInput)
        .thenError(
          'NOT_FOUND',
          `key range r1 does not exist; check the id; ranges of key pool ${pool} exist once reserved`,
        );
      expect(error.details).toEqual({ entity: 'key range', id: 'r1' });
    });

    it('refuses on a pool that does not exist', () => {
      given().when(rangeCommandInput).thenError('NOT_FOUND', /ingest key material into it first/);
    });
  });
});

describe('key pool: routing', () => {
  it('addresses each command to the stream of its pool', () => {
    const commands: KeyPoolCommand[] = [
      { type: 'ReleaseKeyRange', data: { sourceId: 'link-a', rangeId: 'r1' } },
      { type: 'IngestKeyMaterial', data: { sourceId: 'link-b', blockId: 'b1', length: 1, qber: 0, commitment } },
    ];
    expect(commands.map(keyPoolAggregate.targetOf)).toEqual(['link-a', 'link-b']);
    expect(keyPoolAggregate.streamPrefix).toBe('keypool');
  });
});

describe('key pool: evolve', () => {
  it('folds a history into ranges, free segments and a balance', () => {
    const state = stateAfter(
      ingested('block-1', 0, 1000),
      ingested('block-2', 1000, 500),
      reserved('r1', 0, 100),
      reserved('r2', 100, 200, 'charge-2'),
      reserved('r3', 300, 300),
      reserved('r4', 600, 50),
      issued('r1', 0, 100),
      issued('r2', 100, 200),
      frozen('r2', 100, 200),
      released('r3', 300, 300),
      destroyed('r4', 600, 50, 'RESERVED'),
    );
    expect(state.status).toBe('OPEN');
    expect(rangeOf(state, 'r1')).toEqual({
      rangeId: 'r1',
      offset: 0,
      length: 100,
      chargeId: 'charge-1',
      status: 'ISSUED',
      deviceSerial: serial,
    });
    expect(rangeOf(state, 'r2')).toMatchObject({ status: 'FROZEN', chargeId: 'charge-2' });
    expect(rangeOf(state, 'r3')?.status).toBe('RELEASED');
    expect(rangeOf(state, 'r4')?.status).toBe('DESTROYED');
    expect(rangeOf(state, 'r5')).toBeUndefined();
    expect(state.free).toEqual([
      { offset: 300, length: 300 },
      { offset: 650, length: 850 },
    ]);
    expect(poolBalance(state)).toEqual({
      ingested: 1500,
      available: 1150,
      reserved: 0,
      issued: 100,
      frozen: 200,
      consumed: 0,
      destroyed: 50,
    });
  });

  it('merges a released range with the free segments on both sides', () => {
    const state = stateAfter(
      ingested('block-1', 0, 300),
      reserved('r1', 0, 100),
      reserved('r2', 100, 100),
      reserved('r3', 200, 100),
      released('r1', 0, 100),
      released('r3', 200, 100),
      released('r2', 100, 100),
    );
    expect(state.free).toEqual([{ offset: 0, length: 300 }]);
  });

  it('counts restored and consumed ranges where they now are', () => {
    const state = stateAfter(
      ...r1In.FROZEN,
      restored('r1', 200, 100),
      consumed('r1', 200, 100),
      destroyed('r0', 0, 200, 'ISSUED'),
    );
    expect(poolBalance(state)).toEqual({
      ingested: 1000,
      available: 700,
      reserved: 0,
      issued: 0,
      frozen: 0,
      consumed: 100,
      destroyed: 200,
    });
  });

  it('leaves the state it was given unchanged', () => {
    const before = stateAfter(...r1In.RESERVED);
    const snapshot = JSON.parse(JSON.stringify(before));
    keyPoolAggregate.evolve(before, issued('r1', 200, 100));
    keyPoolAggregate.evolve(before, released('r1', 200, 100));
    expect(JSON.parse(JSON.stringify(before))).toEqual(snapshot);
    expect(rangeOf(before, 'r1')?.status).toBe('RESERVED');
  });

  it('folds 100 000 ranges without copying the whole pool per event', () => {
    const count = 100_000;
    const events: KeyPoolEvent[] = [ingested('block-1', 0, count * 32)];
    for (let i = 0; i < count; i++) events.push(reserved(`r-${i}`, i * 32, 32), issued(`r-${i}`, i * 32, 32));
    // Too many events to spread into given(): fold and decide directly.
    const state = fold(keyPoolAggregate.evolve, initialKeyPoolState, [...events, ingested('block-2', count * 32, 64)]);
    expect(poolBalance(state)).toMatchObject({ ingested: count * 32 + 64, issued: count * 32, available: 64 });
    expect(rangeOf(state, 'r-76543')).toMatchObject({ offset: 76543 * 32, status: 'ISSUED' });
    const reserve: KeyPoolCommand = {
      type: 'ReserveKeyRange',
      data: { sourceId: pool, rangeId: 'r-last', length: 64, chargeId: 'charge-9' },
    };
    expect(keyPoolAggregate.decide(reserve, state)).toEqual(E.right([reserved('r-last', count * 32, 64, 'charge-9')]));
    const reused = keyPoolAggregate.decide({ ...reserve, data: { ...reserve.data, rangeId: 'r-99999' } }, state);
    expect(E.isLeft(reused) && reused.left.code).toBe('ALREADY_EXISTS');
  });
});

describe('key pool: balance and invariant 1 under any command sequence', () => {
  const rangeIds = ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'];
  const rangeId = fc.constantFrom(...rangeIds);
  const anyCommand = fc.oneof(
    fc.integer({ min: 1, max: 400 }).map((length) => ({ type: 'IngestKeyMaterial' as const, length })),
    fc.record({ type: fc.constant('ReserveKeyRange' as const), rangeId, length: fc.integer({ min: 1, max: 300 }) }),
    fc.record({
      type: fc.constantFrom(
        'IssueKeyRange' as const,
        'ReleaseKeyRange' as const,
        'FreezeKeyRange' as const,
        'RestoreKeyRange' as const,
        'ConsumeKeyRange' as const,
        'DestroyKeyRange' as const,
      ),
      rangeId,
    }),
  );

  type Step = typeof anyCommand extends fc.Arbitrary<infer S> ? S : never;
  const toInput = (step: Step, index: number) =>
    step.type === 'IngestKeyMaterial'
      ? command(step.type, { blockId: `block-${index}`, length: step.length, qber: 0.01, commitment })
      : command(step.type, {
          rangeId: step.rangeId,
          length: 'length' in step ? step.length : undefined,
          chargeId: 'charge-1',
          deviceSerial: serial,
          reason: 'test',
        });

  /** Decodes and decides as the application does. */
  const decideOn = (state: KeyPoolState, input: unknown) =>
    E.chain((c: KeyPoolCommand) => keyPoolAggregate.decide(c, state))(
      decodeMessage<KeyPoolCommand>(keyPoolAggregate.commandCodecs, input, 'key pool command'),
    );

  /** Free segments and live ranges must tile [0, ingested) exactly: no byte in two places, none lost. */
  const expectInvariants = (state: KeyPoolState) => {
    const balance = poolBalance(state);
    const { ingested: total, ...buckets } = balance;
    expect(Object.values(buckets).reduce((sum, bytes) => sum + bytes, 0)).toBe(total);

    const ranges = rangeIds.map((id) => rangeOf(state, id)).filter((range) => range !== undefined);
    const held = ranges.filter((range) => range.status !== 'RELEASED');
    const pieces = [...state.free, ...held].sort((a, b) => a.offset - b.offset);
    let end = 0;
    for (const piece of pieces) {
      expect(piece.offset).toBe(end);
      end = piece.offset + piece.length;
    }
    expect(end).toBe(total);

    const sumOf = (status: RangeStatus) =>
      ranges.filter((range) => range.status === status).reduce((sum, range) => sum + range.length, 0);
    expect(buckets).toEqual({
      available: state.free.reduce((sum, segment) => sum + segment.length, 0),
      reserved: sumOf('RESERVED'),
      issued: sumOf('ISSUED'),
      frozen: sumOf('FROZEN'),
      consumed: sumOf('CONSUMED'),
      destroyed: sumOf('DESTROYED'),
    });
    // Free segments never touch: adjacent free bytes are one segment.
    state.free.slice(1).forEach((segment, i) => {
      expect(segment.offset).toBeGreaterThan(state.free[i].offset + state.free[i].length);
    });
  };

  const refusals = ['NOT_FOUND', 'ALREADY_EXISTS', 'INVALID_STATE', 'INSUFFICIENT_KEY'];

  it('keeps available + reserved + issued + frozen + consumed + destroyed === ingested, and ranges disjoint', () => {
    fc.assert(
      fc.property(fc.array(anyCommand, { maxLength: 60 }), (steps) => {
        let state = initialKeyPoolState;
        steps.forEach((step, index) => {
          const decided = decideOn(state, toInput(step, index));
          if (E.isRight(decided)) state = decided.right.reduce(keyPoolAggregate.evolve, state);
          else expect(refusals).toContain(decided.left.code);
          expectInvariants(state);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('never issues a byte that was issued before, even after releases and destruction', () => {
    fc.assert(
      fc.property(fc.array(anyCommand, { maxLength: 60 }), (steps) => {
        let state = initialKeyPoolState;
        const issuedBytes = new Set<number>();
        steps.forEach((step, index) => {
          const decided = decideOn(state, toInput(step, index));
          if (E.isLeft(decided)) return;
          for (const event of decided.right) {
            if (event.type !== 'KeyRangeIssued') continue;
            for (let byte = event.data.offset; byte < event.data.offset + event.data.length; byte++) {
              expect(issuedBytes.has(byte)).toBe(false);
              issuedBytes.add(byte);
            }
          }
          state = decided.right.reduce(keyPoolAggregate.evolve, state);
        });
      }),
      { numRuns: 300 },
    );
  });
});

describe('key pool: RecordKeyBlockDiscarded', () => {
  const discarded = { blockId: 'block-9', reason: 'QBER upper bound 26.1% is above the 11% limit' };

  it('records a discarded block, even before the pool holds any key', () => {
    given()
      .when(command('RecordKeyBlockDiscarded', discarded))
      .then({ type: 'KeyBlockDiscarded', data: { sourceId: pool, ...discarded } });
  });

  it('changes no balance', () => {
    const events: KeyPoolEvent[] = [ingested('block-1', 0, 64), { type: 'KeyBlockDiscarded', data: { sourceId: pool, ...discarded } }];
    expect(poolBalance(fold(keyPoolAggregate.evolve, initialKeyPoolState, events))).toEqual(
      poolBalance(fold(keyPoolAggregate.evolve, initialKeyPoolState, events.slice(0, 1))),
    );
  });

  it('refuses to discard a block that was ingested: it is key, destroy its ranges instead', () => {
    given(ingested('block-9', 0, 64)).when(command('RecordKeyBlockDiscarded', discarded)).thenError('INVALID_STATE', /destroy its ranges/);
  });

  it('names a missing reason', () => {
    given().when(command('RecordKeyBlockDiscarded', { blockId: 'block-9', reason: '' })).thenError('INVALID_INPUT', /data.reason: must be text/);
  });
});
