import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, GraphQLFormattedError } from 'graphql';
import { CommandError, storeUnavailable } from '../application/errors';
import { StoreUnavailableError } from '../application/ports/event-store';
import { literalPath } from './documents';
import { describeError, Log } from './log';

/** The platform's codes: a client reads them with their message and acts on them. */
const PLATFORM_CODES = [
  'INVALID_INPUT',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'INVALID_STATE',
  'INSUFFICIENT_KEY',
  'CONFLICT',
  'IDEMPOTENCY_KEY_REUSED',
  'STORE_UNAVAILABLE',
  'VIEWS_STALE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'TOO_MANY_SUBSCRIPTIONS',
  'SUBSCRIBER_TOO_SLOW',
  'RATE_LIMITED',
] as const;

/** graphql's and Apollo's request errors, which keep their own codes. */
const REQUEST_CODES = [
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
] as const;

export type ClientErrorCode = (typeof PLATFORM_CODES)[number] | 'BAD_REQUEST';

const CLIENT_CODES: ReadonlySet<string> = new Set<string>([...PLATFORM_CODES, ...REQUEST_CODES]);

export const clientError = (
  code: ClientErrorCode,
  message: string,
  extensions: Readonly<Record<string, unknown>> = {},
): GraphQLError => new GraphQLError(message, { extensions: { ...extensions, code } });

/** An answer that is only errors, in GraphQL's shape, for refusals before Apollo sees the request. */
export const errorBody = (code: string, message: string) => ({ errors: [{ message, extensions: { code } }] });

/** Codec issues name command fields as `data.<field>`, in the message too; a console knows them as fields of its input object. */
const inputField = (field: string): string => field.replace(/^data\./, '');

/**
 * A refused command as a GraphQL error that keeps the code, the advice and what the console needs
 * to act on it. A CONFLICT shows the current state only through `presentState`, which the caller
 * passes when the principal may read that state; without it, the console learns the revision alone.
 * Events the store holds but this build cannot read are a fault of the platform, not of the
 * request: they are thrown as plain errors, so they are logged and masked.
 */
export const commandFailure = (
  error: CommandError,
  presentState?: (state: unknown) => unknown,
  /** What to send again when the state is withheld; a mutation without expectedRevision says its own. */
  resend: (revision: unknown) => string = (revision) => `send the command again with expectedRevision ${revision} if it still applies`,
): GraphQLError => {
  if (error.code === 'UNKNOWN_EVENT_TYPE' || error.code === 'MALFORMED_EVENT') throw new Error(error.message);
  const message = error.issues ? error.message.replace(/(^|; )data\./g, '$1') : error.message;
  const state = 'currentState' in error ? error.currentState : undefined;
  const withheld =
    state !== undefined && presentState === undefined
      ? `; its state is not shown, as this caller may not read it: ${resend(error.details?.revision)}`
      : '';
  return clientError(error.code, message + withheld, {
    ...(error.issues && { issues: error.issues.map((issue) => ({ field: inputField(issue.field), rule: issue.rule })) }),
    ...(error.details && { details: error.details }),
    ...(state !== undefined && presentState !== undefined && { currentState: presentState(state) }),
  });
};

const GENERIC: GraphQLFormattedError['message'] =
  'Internal server error: the platform logged the details; retry later, and report it if it persists';

/**
 * Passes errors meant for clients and replaces anything else (a bug, a driver error, a broken
 * invariant) by a generic one, logging the original server-side. Used by Apollo's formatError and
 * by the WebSocket hooks, which Apollo does not cover.
 */
export const errorMasker =
  (log: Log) =>
  (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const code = formatted.extensions?.code;
    if (original instanceof GraphQLError && typeof code === 'string' && CLIENT_CODES.has(code)) {
      const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
      const field = code === 'GRAPHQL_VALIDATION_FAILED' ? literalPath(original) : undefined;
      return { ...formatted, ...(field !== undefined && { message: `${field}: ${formatted.message}` }), extensions };
    }
    log('graphql.unexpected_error', {
      path: formatted.path ?? null,
      error: describeError(original),
    });
    const { path } = formatted;
    return { message: GENERIC, ...(path && { path }), extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };

/** A read of the event store; one it cannot serve answers as the command bus would. */
export const fromStore = async <R>(read: () => Promise<R>): Promise<R> => {
  try {
    return await read();
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw commandFailure(storeUnavailable(error.message));
    throw error;
  }
};
