import fc from 'fast-check';
import { ViewOp } from '../../application/ports/view-store';
import { MemoryViewStore } from '../../infrastructure/read-models/memory-view-store';
import { foldPerRecord } from '../../read-models/fold';
import { contentOf } from './support/replay';

// Folding a batch per record must never change the views, whatever the records held before and
// in whatever order their operations come, as long as the projection keeps the fold's promises.

const record = fc.constantFrom('rec:a', 'rec:b');
const onlyIfExists = fc.boolean();
const set = fc.record({
  kind: fc.constant('set' as const),
  key: record,
  fields: fc.dictionary(fc.constantFrom('name', 'at', 'total'), fc.constantFrom('x', 'y', '7'), { minKeys: 1 }),
  onlyIfExists,
});
const incr = fc.record({
  kind: fc.constant('incr' as const),
  key: record,
  by: fc.dictionary(fc.constantFrom('total', 'count'), fc.integer({ min: -3, max: 3 }), { minKeys: 1 }),
  onlyIfExists,
});
// Each indexed field has its own prefix, and the record is its member.
const move = fc
  .record({ key: record, indexed: fc.constantFrom(['status', 'st:'], ['kind', 'kd:']), value: fc.constantFrom('A', 'B', 'C') })
  .map(({ key, indexed: [field, indexPrefix], value }): ViewOp => ({
    kind: 'reindex',
    key,
    field,
    value,
    indexPrefix,
    member: key.slice(4),
  }));
const other = fc.record({ kind: fc.constant('index' as const), key: fc.constant('records'), members: fc.constant(['a']) });
// `total` is both set and incremented, so sets after increments occur; sets of a number keep it one.
const op: fc.Arbitrary<ViewOp> = fc.oneof(set, incr, move, other).filter(
  (o) => o.kind !== 'set' || o.fields.total === undefined || o.fields.total === '7',
);

const applied = async (before: readonly ViewOp[], ops: readonly ViewOp[]) => {
  const views = new MemoryViewStore();
  await views.apply([{ projection: 'p', after: 0, to: 1, ops: before }]);
  await views.apply([{ projection: 'p', after: 1, to: 2, ops }]);
  return contentOf(views);
};

describe('folding a batch per record', () => {
  it('gives the views of the operations one by one, from any state the records were in', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 8 }), fc.array(op, { maxLength: 30 }), async (before, ops) => {
        const folded = foldPerRecord(ops, (key) => key.startsWith('rec:'));
        expect(await applied(before, folded)).toEqual(await applied(before, ops));
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves one set, one increment and one move per field for a record created in the batch', () => {
    const ops: ViewOp[] = [
      { kind: 'set', key: 'rec:a', fields: { name: 'x' } },
      { kind: 'index', key: 'records', members: ['a'] },
      { kind: 'reindex', key: 'rec:a', field: 'status', value: 'A', indexPrefix: 'st:', member: 'a' },
      { kind: 'set', key: 'rec:a', fields: { at: '1' }, onlyIfExists: true },
      { kind: 'incr', key: 'rec:a', by: { count: 1 }, onlyIfExists: true },
      { kind: 'reindex', key: 'rec:a', field: 'status', value: 'B', indexPrefix: 'st:', member: 'a' },
      { kind: 'incr', key: 'rec:a', by: { count: 2 }, onlyIfExists: true },
    ];
    expect(foldPerRecord(ops, (key) => key.startsWith('rec:'))).toEqual([
      { kind: 'index', key: 'records', members: ['a'] },
      { kind: 'set', key: 'rec:a', fields: { name: 'x', at: '1' }, onlyIfExists: false },
      { kind: 'incr', key: 'rec:a', by: { count: 3 }, onlyIfExists: false },
      { kind: 'reindex', key: 'rec:a', field: 'status', value: 'B', indexPrefix: 'st:', member: 'a' },
    ]);
  });
});
