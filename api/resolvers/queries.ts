import * as t from 'io-ts';
import type { QueryOperation } from '../../application/access/policy';
import { PageRequest, ViewsStaleError } from '../../application/ports/read-models';
import { VIEWS_UNREACHABLE, ViewsUnavailableError } from '../../application/ports/view-store';
import { InvalidQueryError } from '../../read-models/errors';
import { ApiContext, ResolverEnv } from '../context';
import { clientError, fromStore } from '../errors';
import { allowed } from './access';

interface Consistent {
  readonly consistentWith?: number | null;
}

const PAST_THE_LOG = "must be a position the log has reached, such as the one a mutation's receipt gave";
const NOT_A_POSITION = 'must be a log position: a whole number, 0 or more';

/** A position argument below 0 names no point of the log; answering as if it were 0 would hide the client's mistake. */
export const logPosition = (field: string, position: number): number => {
  if (position < 0) throw clientError('INVALID_INPUT', `${field}: ${NOT_A_POSITION}`, { issues: [{ field, rule: NOT_A_POSITION }] });
  return position;
};

/**
 * Waits, bounded, until the views have applied the log up to `position`, so a console reads its own
 * writes. A position the log has not reached could only time out, so it is refused at once.
 */
const reachViews = async ({ deps, consistencyTimeoutMs }: ResolverEnv, position: number): Promise<void> => {
  // Views already there (the usual case) answer without asking the log anything.
  if (await deps.readModels.waitFor(position, 0)) return;
  const last = await fromStore(() => deps.store.lastPosition());
  if (position > last) {
    throw clientError('INVALID_INPUT', `consistentWith: ${PAST_THE_LOG}; the log ends at position ${last}`, {
      issues: [{ field: 'consistentWith', rule: PAST_THE_LOG }],
    });
  }
  if (await deps.readModels.waitFor(position, consistencyTimeoutMs)) return;
  const { position: reached, stale, reason } = await deps.readModels.status();
  const message = stale
    ? `the views hold the log up to position ${reached}, not ${position}: ${reason}`
    : `the views reached log position ${reached}, not ${position}, within ${consistencyTimeoutMs} ms; ` +
      'retry shortly, or read without consistentWith to accept an older answer';
  throw clientError('VIEWS_STALE', message, { position: reached, wanted: position });
};

/**
 * Views that are not live or cannot be read answer VIEWS_STALE rather than a guess; a page or
 * filter they refuse answers INVALID_INPUT naming the argument.
 */
export const fromViews = async <R>(read: () => Promise<R>): Promise<R> => {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ViewsStaleError) throw clientError('VIEWS_STALE', error.message, { position: error.position });
    if (error instanceof ViewsUnavailableError) throw clientError('VIEWS_STALE', VIEWS_UNREACHABLE);
    if (error instanceof InvalidQueryError) throw clientError('INVALID_INPUT', error.message, { issues: error.issues });
    throw error;
  }
};

/**
 * A query resolver: authorize the operation (with the id it reads, when it has one), wait for the
 * views if asked, then read.
 */
export const query =
  <A extends object, R>(
    env: ResolverEnv,
    operation: QueryOperation,
    read: (args: A, context: ApiContext) => Promise<R>,
    target?: (args: A) => string,
  ) =>
  async (_parent: unknown, args: A & Consistent, context: ApiContext): Promise<R> => {
    await allowed(env.deps.access.authorizeQuery(context.principal, operation, target?.(args)), context);
    return fromViews(async () => {
      if (args.consistentWith != null) await reachViews(env, logPosition('consistentWith', args.consistentWith));
      return read(args, context);
    });
  };

/** Checks an argument the schema types only as a string against the domain's rule for it. */
export const checked = <A>(codec: t.Type<A, A, unknown>, name: string, value: unknown): A => {
  if (codec.is(value)) return value;
  const rule = `must be ${codec.name}`;
  throw clientError('INVALID_INPUT', `${name}: ${rule}`, { issues: [{ field: name, rule }] });
};

type Present<T> = { [K in keyof T]?: NonNullable<T[K]> };

/** GraphQL passes an explicit null for an optional field a client set to null; the views expect it absent. */
export const present = <T extends object>(input: T | null | undefined): Present<T> =>
  Object.fromEntries(Object.entries(input ?? {}).filter(([, value]) => value != null)) as Present<T>;

export interface PageArgs {
  readonly first?: number | null;
  readonly after?: string | null;
}

/** The page asked for, counted against what the operation may list. */
export const pageOf = ({ first, after }: PageArgs, { budget }: ApiContext): PageRequest => {
  budget.page(first);
  return present({ first, after });
};
