import fc from 'fast-check';
import { ProjectionWrite, ViewOp, ViewStore } from '../../application/ports/view-store';
import { MemoryViewStore } from '../../infrastructure/read-models/memory-view-store';
import { contentOf } from './support/replay';
import { discard, redisStores } from './support/stores';

// The Redis script and the memory store must do the same with any write: the views are compared
// key by key between them, and the script takes shortcuts (runs of strings, a set and the moves
// after it read and written together).

const value = fc.constantFrom('u1', 'u2', 'A', 'B');
const onlyIfExists = fc.boolean();
// Strings longer than 80 characters go to Redis once per use, the others once per write.
const LONG_KEY = `h:${'k'.repeat(90)}`;
const LONG_FIELD = 'f'.repeat(90);
const record = fc.constantFrom('h:1', 'h:2', 'bal:u1', LONG_KEY);
const indexedField = fc.constantFrom('status', 'name', LONG_FIELD);
const amounts = fc.dictionary(fc.constantFrom('n', 'm'), fc.integer({ min: -5, max: 5 }));
// Strings with newlines now and then, as audit entries hold.
const text = (maxLength: number) =>
  fc.oneof(fc.string({ maxLength }), fc.string({ unit: fc.constantFrom('a', '\n', 'é', '|'), maxLength }));
const fresh = fc.uniqueArray(text(12), { minLength: 1, maxLength: 70 });
const op: fc.Arbitrary<ViewOp> = fc.oneof(
  fc.record({
    kind: fc.constant('set' as const),
    key: record,
    fields: fc.dictionary(indexedField, value),
    onlyIfExists,
  }),
  fc.record({
    kind: fc.constant('set' as const),
    key: fc.constant('owner'),
    fields: fc.dictionary(fc.constantFrom('r1', 'r2'), value),
  }),
  fc.record({
    kind: fc.constant('append' as const),
    key: fc.constantFrom('entries', 'h:1'),
    fields: fc.dictionary(fc.constantFrom('7', '8', 'status'), text(100)),
  }),
  fc.record({
    kind: fc.constant('set' as const),
    key: fc.constant('entries'),
    fields: fc
      .oneof(fc.array(fc.string({ maxLength: 90 }), { minLength: 60, maxLength: 80 }), fc.array(text(90), { minLength: 60 }))
      .map((values) => Object.fromEntries(values.map((v, i) => [String(i * 7), v]))),
    onlyIfExists,
  }),
  fc.record({ kind: fc.constant('incr' as const), key: record, by: amounts, onlyIfExists }),
  fc.record({
    kind: fc.constant('index' as const),
    key: fc.constantFrom('idx:A', 'list'),
    members: fc.array(value, { minLength: 1 }),
  }),
  // Members new to the write go as one run of strings; some of them come again in a later index.
  fc.record({ kind: fc.constant('index' as const), key: fc.constantFrom('all', 'list'), members: fresh }),
  fc.record({
    kind: fc.constant('reindex' as const),
    key: fc.constantFrom('h:1', 'h:2', LONG_KEY),
    field: indexedField,
    value,
    indexPrefix: fc.constant('idx:'),
    member: fc.constantFrom('1', '2'),
  }),
  fc.record({
    kind: fc.constant('incrVia' as const),
    via: fc.constant('owner'),
    viaField: fc.constantFrom('r1', 'r2'),
    keyPrefix: fc.constant('bal:'),
    by: amounts,
  }),
);

/** The ops as writes of two projections, each starting where the previous write of it ended. */
const writesOf = (ops: readonly ViewOp[], cut: number, at: { p: number; q: number }): ProjectionWrite[] => {
  const parts: [('p' | 'q'), readonly ViewOp[]][] = [['p', ops.slice(0, cut)], ['q', ops.slice(cut)]];
  return parts.map(([projection, part]) => ({ projection, after: at[projection], to: ++at[projection], ops: part }));
};

describe('the memory and Redis view stores', () => {
  let redis: ViewStore;

  beforeAll(async () => {
    redis = await redisStores.open('stores');
  });
  afterAll(() => discard(redis));

  /** Applies the batches to both stores and compares what they hold. */
  const bothAlike = async (batches: readonly (readonly [readonly ViewOp[], number])[]): Promise<void> => {
    const [memory, scratch] = [new MemoryViewStore(), redis.scratch()];
    try {
      const [atMemory, atRedis] = [{ p: 0, q: 0 }, { p: 0, q: 0 }];
      for (const [ops, cut] of batches) {
        expect(await memory.apply(writesOf(ops, cut, atMemory))).toEqual({ applied: true });
        expect(await scratch.apply(writesOf(ops, cut, atRedis))).toEqual({ applied: true });
      }
      expect(await contentOf(scratch)).toEqual(await contentOf(memory));
    } finally {
      await scratch.drop();
    }
  };

  it('apply any sequence of writes alike', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.array(op, { maxLength: 25 }), fc.nat(25)), { minLength: 1, maxLength: 3 }),
        bothAlike,
      ),
      { numRuns: 150 },
    );
  });

  const move = (key: string, field: string, value: string): ViewOp => ({
    kind: 'reindex',
    key,
    field,
    value,
    indexPrefix: 'idx:',
    member: '1',
  });

  const cases: [string, ViewOp[]][] = [
    // The move reads the value the set before it wrote, not the one the hash held: idx:A keeps 1.
    [
      'a set and a move of the field it set',
      [move('h:1', 'status', 'A'), { kind: 'set', key: 'h:1', fields: { status: 'B' } }, move('h:1', 'status', 'u1')],
    ],
    // The second move of a field reads what the first wrote.
    [
      'two moves of one long field',
      [move('h:1', LONG_FIELD, 'A'), move('h:1', LONG_FIELD, 'B'), move('h:1', LONG_FIELD, 'u1')],
    ],
    [
      'moves of a hash the set does not create',
      [{ kind: 'set', key: 'h:1', fields: { name: 'A' }, onlyIfExists: true }, move('h:1', 'status', 'A')],
    ],
    // Sent with the script itself rather than by its digest.
    [
      'a write of thousands of strings',
      [{ kind: 'index', key: 'all', members: Array.from({ length: 1_500 }, (_, i) => `m${i}`) }],
    ],
    [
      'appends to fields written before',
      [
        { kind: 'append', key: 'h:1', fields: { a: 'x\n' } },
        { kind: 'append', key: 'h:1', fields: { a: 'y\n', b: 'z' } },
      ],
    ],
  ];

  it.each(cases)('apply %s alike', async (_, ops) => {
    await bothAlike([[[{ kind: 'set', key: 'h:1', fields: { name: 'B' } }], 1], [ops, ops.length]]);
    await bothAlike([[ops, ops.length]]);
  });
});
