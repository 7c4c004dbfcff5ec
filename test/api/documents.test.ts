import * as E from 'fp-ts/Either';
import { DocumentNode, GraphQLError } from 'graphql';
import { documents } from '../../api/documents';
import { validationRules } from '../../api/hardening';
import { defaultLimits } from '../../api/limits';
import { buildSchema } from '../../api/schema';
import { ApiDeps } from '../../api/context';

// Resolvers are never called here: only parsing and validation are under test.
const schema = buildSchema({ deps: {} as ApiDeps, consistencyTimeoutMs: 1000, maxQueuedPerSubscription: 10 });
const rules = validationRules({ ...defaultLimits, maxDepth: 3 }, true).webSocket;
const open = (capacity: number) => documents({ schema, validationRules: rules, maxTokens: 100, capacity });

const documentOf = (parsed: E.Either<readonly GraphQLError[], DocumentNode>): DocumentNode => {
  if (E.isLeft(parsed)) throw new Error(parsed.left.map((error) => error.message).join('; '));
  return parsed.right;
};
const codesOf = (parsed: E.Either<readonly GraphQLError[], DocumentNode>): unknown[] =>
  E.isLeft(parsed) ? parsed.left.map((error) => error.extensions.code) : [];

const query = (n: number) => `{ a${n}: viewsStatus { position } }`;

describe('parsed and validated documents', () => {
  it('parses and validates a text once, and again only once it was the least recently used of too many', () => {
    const parse = open(2);
    const first = documentOf(parse(query(1)));
    const second = documentOf(parse(query(2)));
    expect(documentOf(parse(query(1)))).toBe(first); // a hit makes query 1 the most recently used
    documentOf(parse(query(3))); // pushes out query 2, not query 1
    expect(documentOf(parse(query(1)))).toBe(first);
    expect(documentOf(parse(query(2)))).not.toBe(second); // parsed again, pushing out query 3
    documentOf(parse(query(4))); // pushes out query 1
    expect(documentOf(parse(query(1)))).not.toBe(first);
  });

  it('refuses a text every time it is sent, with the code of the step that refused it', () => {
    const parse = open(10);
    for (let i = 0; i < 2; i++) {
      expect(codesOf(parse('{ viewsStatus { position }'))).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(codesOf(parse(`{ ${'x '.repeat(120)}}`))).toEqual(['GRAPHQL_PARSE_FAILED']);
      expect(codesOf(parse('{ audit { items { action } } }'))).toEqual([]);
      expect(new Set(codesOf(parse('{ audit { items { action { x } } } }')))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
      expect(new Set(codesOf(parse('{ __schema { queryType { name } } }')))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    }
  });

  it('gives no hint at the schema in a refusal', () => {
    const parsed = open(10)('{ viewStatus { position } }');
    expect(E.isLeft(parsed) && parsed.left.map((error) => error.message)).toEqual([
      'Cannot query field "viewStatus" on type "Query".',
    ]);
  });
});
