const JSON_VALUES = 'null, a boolean, a finite number, a string, an array or a plain object';

/**
 * Serialises the data or metadata of the append's event number `event`, refusing what
 * JSON.stringify would silently change or drop (undefined, NaN, Dates, Maps, class instances), so
 * a store returns exactly what it was given. The error names the field, never the value: event
 * data may be sensitive. The field's name is built only for the error.
 *
 * JSON.stringify throws on cycles and BigInt; findProblem then walks the value for the rest, which
 * adds some 8% to the stringify. A replacer checking in the same pass would nearly double it: V8
 * leaves its fast path to call the replacer for every value.
 */
export const toJson = (value: unknown, event: number, part: 'data' | 'metadata'): string => {
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    throw notJson(`events[${event}].${part}`, 'a cycle or a BigInt');
  }
  const problem = findProblem(value);
  if (problem !== undefined) throw notJson(`events[${event}].${part}${problem.path.reverse().join('')}`, problem.found);
  return json;
};

interface Problem {
  /** Path segments from the offending value up to the root (built only on failure). */
  readonly path: string[];
  readonly found: string;
}

const findProblem = (value: unknown): Problem | undefined => {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { path: [], found: 'a non-finite number' };
  if (typeof value !== 'object') return { path: [], found: typeof value === 'undefined' ? 'undefined' : `a ${typeof value}` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = findProblem(value[i]);
      if (problem) return within(problem, `[${i}]`);
    }
    return undefined;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    return { path: [], found: `an instance of ${value.constructor?.name ?? 'a class'}` };
  }
  // for...in is safe: a plain object's prototype has no enumerable keys.
  for (const key in value) {
    const problem = findProblem((value as Record<string, unknown>)[key]);
    if (problem) return within(problem, `.${key}`);
  }
  return undefined;
};

const within = (problem: Problem, segment: string): Problem => {
  problem.path.push(segment);
  return problem;
};

const notJson = (field: string, found: string): TypeError =>
  new TypeError(`${field} must be JSON (${JSON_VALUES}), but it holds ${found}; convert it before appending`);
