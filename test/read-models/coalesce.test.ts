import fc from 'fast-check';
import { ViewOp } from '../../application/ports/view-store';
import { MemoryViewStore } from '../../infrastructure/read-models/memory-view-store';
import { coalesce } from '../../read-models/coalesce';
import { contentOf } from './support/replay';

// Coalescing must never change what a write does, whatever mix of operations shares its keys.

// A small universe, so that keys meet: a reindex reaches `idx:LOST`, an incrVia reaches `bal:u1` and `h:u1`.
const key = fc.constantFrom('h:u1', 'idx:LOST', 'owner', 'bal:u1');
const field = fc.constantFrom('status', 'r1');
const value = fc.constantFrom('u1', 'LOST', 'ACTIVE');
const amounts = fc.dictionary(field, fc.integer({ min: -3, max: 3 }), { minKeys: 1 });
const onlyIfExists = fc.boolean();
const op: fc.Arbitrary<ViewOp> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), key, fields: fc.dictionary(field, value, { minKeys: 1 }), onlyIfExists }),
  fc.record({ kind: fc.constant('incr' as const), key, by: amounts, onlyIfExists }),
  fc.record({ kind: fc.constant('index' as const), key, members: fc.array(value, { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('append' as const), key, fields: fc.dictionary(field, value, { minKeys: 1 }) }),
  fc.record({
    kind: fc.constant('reindex' as const),
    key,
    field,
    value,
    indexPrefix: fc.constantFrom('idx:', 'bal:'),
    member: value,
  }),
  fc.record({
    kind: fc.constant('incrVia' as const),
    via: key,
    viaField: field,
    keyPrefix: fc.constantFrom('bal:', 'h:'),
    by: amounts,
  }),
);

const applied = async (ops: readonly ViewOp[]) => {
  const views = new MemoryViewStore();
  await views.apply([{ projection: 'p', after: 0, to: 1, ops }]);
  return contentOf(views);
};

describe('coalescing a write', () => {
  it('has the effect of the operations applied one by one', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
        // Mixed-role keys make wrong merges visible: incr on a key another op sets or reads, for example.
        expect(await applied(coalesce(ops))).toEqual(await applied(ops));
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps in place what a reindex or an incrVia reaches by prefix', async () => {
    const reindexed: ViewOp[] = [
      { kind: 'set', key: 'h:u1', fields: { status: 'LOST' } },
      { kind: 'index', key: 'idx:LOST', members: ['u1'] },
      { kind: 'reindex', key: 'h:u1', field: 'status', value: 'ACTIVE', indexPrefix: 'idx:', member: 'u1' },
      { kind: 'index', key: 'idx:LOST', members: ['u1'] },
    ];
    const reachedVia: ViewOp[] = [
      { kind: 'set', key: 'owner', fields: { r1: 'u1' } },
      { kind: 'set', key: 'bal:u1', fields: { charged: '1' } },
      { kind: 'incrVia', via: 'owner', viaField: 'r1', keyPrefix: 'bal:', by: { charged: 2 } },
      { kind: 'set', key: 'bal:u1', fields: { charged: '1' } },
    ];
    for (const ops of [reindexed, reachedVia]) {
      expect(coalesce(ops)).toEqual(ops);
      expect(await applied(coalesce(ops))).toEqual(await applied(ops));
    }
  });

  it('merges what commutes: one index addition per key and one increment per counter', () => {
    const ops: ViewOp[] = [
      { kind: 'index', key: 'audit:all', members: ['a'] },
      { kind: 'incr', key: 'audit:hour:x', by: { Freeze: 1 } },
      { kind: 'set', key: 'audit:entries', fields: { '1': 'one' } },
      { kind: 'index', key: 'audit:all', members: ['b', 'a'] },
      { kind: 'incr', key: 'audit:hour:x', by: { Freeze: 1, Bind: 1 } },
      { kind: 'set', key: 'audit:entries', fields: { '2': 'two' } },
    ];
    expect(coalesce(ops)).toEqual([
      { kind: 'index', key: 'audit:all', members: ['a', 'b'] },
      { kind: 'incr', key: 'audit:hour:x', by: { Freeze: 2, Bind: 1 } },
      { kind: 'set', key: 'audit:entries', fields: { '1': 'one', '2': 'two' } },
    ]);
  });
});
