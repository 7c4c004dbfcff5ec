import { GraphQLError, GraphQLScalarType, Kind, ValueNode } from 'graphql';

// Scalars that reject a bad value at the GraphQL layer, so a console gets graphql's own
// BAD_USER_INPUT with the reason before any resolver runs.

const invalid = (scalar: string, rule: string): GraphQLError =>
  new GraphQLError(`${scalar} must be ${rule}`, { extensions: { code: 'BAD_USER_INPUT' } });

/**
 * A literal's fault as a plain error: graphql then reports it with the value found and where it
 * stands in the document, which it leaves out of a GraphQLError the scalar throws.
 */
const literal =
  <T>(parse: (node: ValueNode) => T) =>
  (node: ValueNode): T => {
    try {
      return parse(node);
    } catch (error) {
      throw new TypeError((error as Error).message);
    }
  };

const toSafeInt = (value: unknown): number => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw invalid('SafeInt', 'a whole number from -(2^53 - 1) to 2^53 - 1');
  }
  return value;
};

/** Stream positions, byte offsets and byte counts outgrow GraphQL's 32-bit Int on a long-lived platform. */
export const SafeInt = new GraphQLScalarType<number, number>({
  name: 'SafeInt',
  description: 'A whole number up to 2^53 - 1, sent as a JSON number.',
  serialize: toSafeInt,
  parseValue: toSafeInt,
  parseLiteral: literal((node) => {
    if (node.kind !== Kind.INT) throw invalid('SafeInt', 'a whole number');
    return toSafeInt(Number(node.value));
  }),
});

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** Date.parse rolls 31 November over to 1 December: every part must name a real day and time. */
const isRealTime = (value: string): boolean => {
  const parts = ISO_TIME.exec(value);
  if (parts === null) return false;
  const [year, month, day, hour, minute, second, zoneHours, zoneMinutes] = parts.slice(1).map((part) => Number(part ?? 0));
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= lastDay && hour <= 23 && minute <= 59 && second <= 59 && zoneHours <= 23 && zoneMinutes <= 59;
};

const toDateTime = (value: unknown): string => {
  if (typeof value !== 'string' || !isRealTime(value)) {
    throw invalid('DateTime', 'an ISO-8601 time with a zone that names a real day and time, e.g. 2026-01-31T12:00:00Z');
  }
  return value;
};

export const DateTime = new GraphQLScalarType<string, string>({
  name: 'DateTime',
  description: 'An ISO-8601 time with a zone, e.g. 2026-01-31T12:00:00.000Z.',
  serialize: toDateTime,
  parseValue: toDateTime,
  parseLiteral: literal((node) => {
    if (node.kind !== Kind.STRING) throw invalid('DateTime', 'a string');
    return toDateTime(node.value);
  }),
});

/** Event data: small, secret-free objects the domain's codecs already checked; only ever sent, never received. */
export const JSONScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => value,
});
