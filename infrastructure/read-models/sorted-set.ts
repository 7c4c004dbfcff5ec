import { LexBound } from '../../application/ports/view-store';

/**
 * Strings in lexicographic order with the range semantics of Redis's BYLEX commands, so the
 * memory store answers exactly as Redis does. Members mostly arrive in order (times, positions),
 * which the append fast path keeps cheap.
 */
export class SortedSet {
  private readonly members: string[] = [];

  get size(): number {
    return this.members.length;
  }

  add(member: string): void {
    const last = this.members[this.members.length - 1];
    if (last === undefined || member > last) {
      this.members.push(member);
      return;
    }
    const at = this.lowerBound(member);
    if (this.members[at] !== member) this.members.splice(at, 0, member);
  }

  delete(member: string): void {
    const at = this.lowerBound(member);
    if (this.members[at] === member) this.members.splice(at, 1);
  }

  has(member: string): boolean {
    return this.members[this.lowerBound(member)] === member;
  }

  range(min: LexBound, max: LexBound, rev = false, offset = 0, count?: number): string[] {
    const [start, end] = this.window(min, max);
    if (!rev) {
      return this.members.slice(start + offset, count === undefined ? end : Math.min(end, start + offset + count));
    }
    const top = end - offset;
    const bottom = count === undefined ? start : Math.max(start, top - count);
    return top <= bottom ? [] : this.members.slice(bottom, top).reverse();
  }

  count(min: LexBound, max: LexBound): number {
    const [start, end] = this.window(min, max);
    return Math.max(0, end - start);
  }

  all(): readonly string[] {
    return this.members;
  }

  /** [first index inside, first index past] of a range. */
  private window(min: LexBound, max: LexBound): [number, number] {
    const at = (bound: LexBound, inclusive: (v: string) => number, exclusive: (v: string) => number): number =>
      bound[0] === '[' ? inclusive(bound.slice(1)) : exclusive(bound.slice(1));
    const lower = (v: string) => this.lowerBound(v);
    const upper = (v: string) => this.upperBound(v);
    const size = this.members.length;
    const start = min === '-' ? 0 : min === '+' ? size : at(min, lower, upper);
    const end = max === '+' ? size : max === '-' ? 0 : at(max, upper, lower);
    return [start, Math.max(start, end)];
  }

  /** First index whose member is >= value. */
  private lowerBound(value: string): number {
    let [lo, hi] = [0, this.members.length];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.members[mid] < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose member is > value. */
  private upperBound(value: string): number {
    let [lo, hi] = [0, this.members.length];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.members[mid] <= value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
