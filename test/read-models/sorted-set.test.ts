import fc from 'fast-check';
import { LexBound } from '../../application/ports/view-store';
import { SortedSet } from '../../infrastructure/read-models/sorted-set';

// The memory store must answer lexicographic ranges exactly as Redis's ZRANGE/ZLEXCOUNT BYLEX do.

const member = fc.string({ unit: fc.constantFrom('a', 'b', 'c', '|', '0', '9'), maxLength: 4 });
const bound = fc.oneof(
  fc.constantFrom<LexBound>('-', '+'),
  member.map((m): LexBound => `[${m}`),
  member.map((m): LexBound => `(${m}`),
);

const inside = (m: string, min: LexBound, max: LexBound): boolean => {
  const aboveMin = min === '-' || (min !== '+' && (min[0] === '[' ? m >= min.slice(1) : m > min.slice(1)));
  const belowMax = max === '+' || (max !== '-' && (max[0] === '[' ? m <= max.slice(1) : m < max.slice(1)));
  return aboveMin && belowMax;
};

describe('a sorted set of strings', () => {
  it('ranges and counts like BYLEX, forwards and backwards, with offset and count', () => {
    fc.assert(
      fc.property(
        fc.array(member),
        fc.array(member),
        bound,
        bound,
        fc.boolean(),
        fc.nat(5),
        fc.option(fc.nat(5), { nil: undefined }),
        (added, removed, min, max, rev, offset, count) => {
          const set = new SortedSet();
          added.forEach((m) => set.add(m));
          removed.forEach((m) => set.delete(m));
          const kept = [...new Set(added)].filter((m) => !removed.includes(m)).sort();
          expect(set.all()).toEqual(kept);
          const matching = kept.filter((m) => inside(m, min, max));
          const ordered = rev ? [...matching].reverse() : matching;
          const page = ordered.slice(offset, count === undefined ? undefined : offset + count);
          expect(set.range(min, max, rev, offset, count)).toEqual(page);
          expect(set.count(min, max)).toBe(matching.length);
          kept.forEach((m) => expect(set.has(m)).toBe(true));
        },
      ),
    );
  });
});
