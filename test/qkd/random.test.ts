import { below, randomPermutation, seededRandom } from '../../qkd/random';

describe('random', () => {
  it('repeats a stream for the same seed and differs for another', () => {
    const [a, b, c] = [seededRandom(1), seededRandom(1), seededRandom(2)];
    const draw = (r: ReturnType<typeof seededRandom>) => Array.from({ length: 8 }, () => r.nextUint32());
    const first = draw(a);
    expect(draw(b)).toEqual(first);
    expect(draw(c)).not.toEqual(first);
  });

  it('draws permutations and bounded integers in range', () => {
    const r = seededRandom(3);
    const order = randomPermutation(r, 100);
    expect([...order].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (let i = 0; i < 1000; i++) expect(below(r, 7)).toBeLessThan(7);
  });
});
