import * as E from 'fp-ts/Either';
import { DocumentNode, GraphQLError, GraphQLSchema, Kind, parse, Source, validate, ValidationRule, visit } from 'graphql';

export interface DocumentOptions {
  readonly schema: GraphQLSchema;
  /** Every rule a document must pass: graphql's own, armor's limits, and no introspection in production. */
  readonly validationRules: readonly ValidationRule[];
  /** Tokens the parser reads before it gives up. */
  readonly maxTokens: number;
  /** Validated documents kept; the least recently used goes first. */
  readonly capacity: number;
}

/** Turns a query text into a document fit to execute, or the errors a client is answered with. */
export type Documents = (query: string) => E.Either<readonly GraphQLError[], DocumentNode>;

const recoded = (error: GraphQLError, code: string, message = error.message): GraphQLError =>
  new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    originalError: error.originalError,
    path: error.path,
    extensions: { ...error.extensions, code },
  });

/** graphql-js reports request errors (bad variables, no such operation) without a code; Apollo says BAD_USER_INPUT. */
export const withCode = (error: GraphQLError, code: string): GraphQLError =>
  error.extensions.code === undefined ? recoded(error, code) : error;

/**
 * As Apollo answers over HTTP: one code for every rule, armor's included, and no "Did you mean ...?"
 * hints at the schema (hideSchemaDetailsFromClientErrors).
 */
const validationFailure = (error: GraphQLError): GraphQLError =>
  recoded(error, 'GRAPHQL_VALIDATION_FAILED', error.message.replace(/ ?Did you mean(.+?)\?$/, ''));

/**
 * Apollo's request pipeline, for the WebSocket path it does not serve: parses (with the token
 * limit) and validates a subscription text once, as Apollo's document store does over HTTP.
 * Consoles subscribe with the same few operations at every reconnect, and a document depends on
 * nothing but its text and the schema, so a cached one is as good as a new one. Refused texts are
 * not kept, so they cannot push out the documents in use.
 */
export const documents = ({ schema, validationRules, maxTokens, capacity }: DocumentOptions): Documents => {
  const cache = new Map<string, DocumentNode>();
  return (query) => {
    const cached = cache.get(query);
    if (cached !== undefined) {
      cache.delete(query);
      cache.set(query, cached);
      return E.right(cached);
    }
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens });
    } catch (error) {
      if (error instanceof GraphQLError) return E.left([withCode(error, 'GRAPHQL_PARSE_FAILED')]);
      throw error;
    }
    const invalid = validate(schema, document, validationRules);
    if (invalid.length > 0) return E.left(invalid.map(validationFailure));
    cache.set(query, document);
    if (cache.size > capacity) cache.delete(cache.keys().next().value!);
    return E.right(document);
  };
};

/** Each document's argument paths by the offset of the literal they hold, worked out once per document. */
const literalPaths = new WeakMap<Source, ReadonlyMap<number, string>>();

const pathsIn = (source: Source): ReadonlyMap<number, string> => {
  const known = literalPaths.get(source);
  if (known !== undefined) return known;
  const paths = new Map<number, string>();
  const path: string[] = [];
  const named = (kind: Kind) => kind === Kind.ARGUMENT || kind === Kind.OBJECT_FIELD;
  visit(parse(source), {
    enter: (node) => {
      if (named(node.kind)) path.push((node as { name: { value: string } }).name.value);
      else if (path.length > 0 && node.loc !== undefined && !paths.has(node.loc.start)) paths.set(node.loc.start, path.join('.'));
    },
    leave: (node) => {
      if (named(node.kind)) path.pop();
    },
  });
  literalPaths.set(source, paths);
  return paths;
};

/**
 * The argument path (`input.kind`) of the literal a validation error is about, read from the
 * document's text: graphql names a wrong literal's type and place in the text, not its field.
 */
export const literalPath = (error: GraphQLError): string | undefined => {
  const offset = error.nodes?.[0]?.loc?.start;
  return offset === undefined || error.source === undefined ? undefined : pathsIn(error.source).get(offset);
};
