// The AVAILABLE bytes of a pool as a sorted list of disjoint, non-adjacent segments. Reservation
// takes from the front, so the list stays short unless releases leave holes.

export interface Segment {
  readonly offset: number;
  readonly length: number;
}

export type FreeSegments = readonly Segment[];

const endOf = (segment: Segment): number => segment.offset + segment.length;

/** Index of the first segment whose offset is greater than `offset`. */
const upperBound = (segments: FreeSegments, offset: number): number => {
  let low = 0;
  let high = segments.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (segments[middle].offset <= offset) low = middle + 1;
    else high = middle;
  }
  return low;
};

/** First fit: the lowest-offset segment that holds `length` bytes. */
export const firstFit = (segments: FreeSegments, length: number): Segment | undefined =>
  segments.find((segment) => segment.length >= length);

export const largestSegment = (segments: FreeSegments): number =>
  segments.reduce((largest, segment) => Math.max(largest, segment.length), 0);

/** Adds free bytes [offset, offset+length), merged with the segments it touches. */
export const addFree = (segments: FreeSegments, offset: number, length: number): FreeSegments => {
  const at = upperBound(segments, offset);
  const before = segments[at - 1];
  const after = segments[at];
  const joinsBefore = before !== undefined && endOf(before) === offset;
  const joinsAfter = after !== undefined && offset + length === after.offset;
  const start = joinsBefore ? before.offset : offset;
  const end = joinsAfter ? endOf(after) : offset + length;
  const result = segments.slice();
  const replaced = Number(joinsBefore) + Number(joinsAfter);
  result.splice(joinsBefore ? at - 1 : at, replaced, { offset: start, length: end - start });
  return result;
};

/** Removes bytes [offset, offset+length), which lie within one free segment. */
export const removeFree = (segments: FreeSegments, offset: number, length: number): FreeSegments => {
  const at = upperBound(segments, offset) - 1;
  const segment = segments[at];
  const pieces = [
    { offset: segment.offset, length: offset - segment.offset },
    { offset: offset + length, length: endOf(segment) - (offset + length) },
  ].filter((piece) => piece.length > 0);
  const result = segments.slice();
  result.splice(at, 1, ...pieces);
  return result;
};
