import fc from 'fast-check';
import { LexBound, ViewOp } from '../../application/ports/view-store';
import { MemoryViewStore } from '../../infrastructure/read-models/memory-view-store';
import { pageOfUnion } from '../../read-models/paging';

// Reading the union of disjoint indexes page by page must give exactly its members in order, less
// the excluded ones, however the members fall across the indexes, the chunks and the pages.

/** Reads every page and checks them against the members expected, in order. */
const readsAll = async (
  members: readonly string[],
  indexOf: readonly number[],
  exclusionOf: readonly number[],
  first: number,
  rev: boolean,
  [min, max]: [LexBound, LexBound],
): Promise<void> => {
  const views = new MemoryViewStore();
  const ops: ViewOp[] = members.flatMap((m, i): ViewOp[] => [
    { kind: 'index', key: `i${indexOf[i]}`, members: [m] },
    ...(exclusionOf[i] > 0 ? [{ kind: 'index' as const, key: `x${exclusionOf[i]}`, members: [m] }] : []),
  ]);
  await views.apply([{ projection: 'p', after: 0, to: 1, ops }]);
  const inRange = (m: string): boolean =>
    (min === '-' || (min[0] === '[' ? m >= min.slice(1) : m > min.slice(1))) &&
    (max === '+' || (max[0] === '[' ? m <= max.slice(1) : m < max.slice(1)));
  const inOrder = members.filter((m, i) => inRange(m) && exclusionOf[i] === 0).sort();
  const expected = rev ? inOrder.reverse() : inOrder;

  const read: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await pageOfUnion(views, {
      indexes: ['i0', 'i1', 'i2', 'i3', 'i-empty'],
      excluded: ['x1', 'x2'],
      min,
      max,
      rev,
      after,
      first,
    });
    expect(page.total).toBe(expected.length);
    expect(page.members.length).toBeLessThanOrEqual(first);
    read.push(...page.members);
    if (!page.more) break;
    after = page.members[page.members.length - 1];
  }
  expect(read).toEqual(expected);
};

const ranges = fc.constantFrom<[LexBound, LexBound]>(['-', '+'], ['[30', '(70'], ['(25', '[80'], ['[3', '(8']);

describe('a page of the union of indexes', () => {
  it('gives every member once, in order, with the total', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 10, max: 99 }).map(String), { maxLength: 60 }),
        fc.array(fc.nat(3), { minLength: 60, maxLength: 60 }),
        fc.array(fc.nat(2), { minLength: 60, maxLength: 60 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        ranges,
        readsAll,
      ),
      { numRuns: 300 },
    );
  });

  it('reads on, chunk after chunk, past more excluded members than a chunk holds', async () => {
    const count = 1_500;
    const members = Array.from({ length: count }, (_, i) => String(1_000 + i * 5));
    await fc.assert(
      fc.asyncProperty(
        // Mostly in the first index, so that the others give less than a chunk.
        fc.array(fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 1, 2, 3), { minLength: count, maxLength: count }),
        // A run of excluded members longer than any chunk.
        fc.integer({ min: 0, max: count - 1 }),
        fc.integer({ min: 500, max: 1_000 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        ranges,
        (indexOf, from, length, first, rev, range) => {
          const exclusionOf = members.map((_, i) => (i >= from && i < from + length ? 1 + (i % 2) : 0));
          return readsAll(members, indexOf, exclusionOf, first, rev, range);
        },
      ),
      { numRuns: 20 },
    );
  });
});
