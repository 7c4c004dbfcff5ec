import * as t from 'io-ts';
import * as E from 'fp-ts/Either';
import { DomainError, invalidInput, ValidationIssue } from './errors';

/**
 * A codec whose name is the rule it enforces, phrased to follow "must be", so that a failed
 * decode can name the field and the rule without a separate message table.
 */
export const rule = <A>(base: t.Type<A, A, unknown>, description: string, predicate: (a: A) => boolean) =>
  new t.Type<A, A, unknown>(
    description,
    (u): u is A => base.is(u) && predicate(u),
    (u, c) => {
      const decoded = base.validate(u, c);
      return E.isLeft(decoded) || predicate(decoded.right) ? decoded : t.failure(u, c, description);
    },
    t.identity,
  );

const plainRules: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'true or false',
};

const describe = (type: t.Decoder<unknown, unknown>): string => plainRules[type.name] ?? type.name;

const fieldOf = (context: t.Context): string =>
  context
    .map((entry) => entry.key)
    .filter((key) => key !== '' && !/^\d+$/.test(key))
    .join('.') || '(root)';

export const toIssues = (errors: t.Errors): ValidationIssue[] => {
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const error of errors) {
    const leaf = error.context[error.context.length - 1];
    const field = fieldOf(error.context);
    const rule =
      error.value === undefined ? `is required (${describe(leaf.type)})` : `must be ${describe(leaf.type)}`;
    const key = `${field}|${rule}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push({ field, rule });
    }
  }
  return issues;
};

/** Decodes untrusted input; the error names every offending field and the rule it broke. */
export const decode = <A, O>(codec: t.Type<A, O, unknown>, input: unknown): E.Either<DomainError, A> =>
  E.mapLeft((errors: t.Errors) => invalidInput(toIssues(errors)))(codec.decode(input));

/** A message `{ type, data }` codec; `type` is checked by the registry, `data` by this codec. */
export const message = <T extends string, P extends t.Props>(type: T, data: P) =>
  t.type({ type: t.literal(type), data: t.exact(t.type(data)) }, type);

// `any`: a registry holds codecs of many different message types.
export type MessageCodecs = Readonly<Record<string, t.Type<any, any, unknown>>>;

/**
 * Decodes a `{ type, data }` message by looking its type up first, so an unknown type is one clear
 * issue rather than a failure of every member of a union.
 */
export const decodeMessage = <M extends { type: string }>(
  codecs: MessageCodecs,
  input: unknown,
  kind: string,
): E.Either<DomainError, M> => {
  const type = typeof input === 'object' && input !== null ? (input as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(codecs, type)) {
    return E.left(
      invalidInput([{ field: 'type', rule: `must be one of the ${kind} types: ${Object.keys(codecs).join(', ')}` }]),
    );
  }
  return decode(codecs[type], input) as E.Either<DomainError, M>;
};
