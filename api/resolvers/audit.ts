import { AuditEntry, AuditFilter } from '../../application/ports/read-models';
import { filterTarget } from '../../read-models/audit/projection';
import { ApiContext, ResolverEnv } from '../context';
import { allowed } from './access';
import { live } from './live';
import { fromViews, pageOf, PageArgs, present, query } from './queries';

interface StatsArgs {
  readonly from?: string | null;
  readonly to?: string | null;
  readonly top?: number | null;
}

type FeedFilter = Pick<AuditFilter, 'target' | 'actorId' | 'action' | 'outcome'>;

/** As the audit query filters: a target matches the entry's own and those it names. */
const matches = (given: FeedFilter) => {
  const filter = given.target === undefined ? given : { ...given, target: filterTarget(given.target) };
  return (entry: AuditEntry): boolean =>
    (Object.keys(filter) as (keyof FeedFilter)[]).every(
      (field) => entry[field] === filter[field] || (field === 'target' && entry.concerns.includes(filter.target!)),
    );
};

export const auditResolvers = (env: ResolverEnv) => {
  const { deps } = env;
  return {
    Query: {
      audit: query(env, 'audit', (args: PageArgs & { filter?: AuditFilter | null }, context) =>
        deps.readModels.audit(present(args.filter), pageOf(args, context)),
      ),
      auditStats: query(env, 'auditStats', ({ from, to, top }: StatsArgs, { budget }) =>
        budget.once('auditStats', { from, to, top }, () => deps.readModels.auditStats(present({ from, to }), top ?? undefined)),
      ),
      auditVerify: query(env, 'auditVerify', (_args, { budget }) => budget.once('auditVerify', null, deps.auditVerify)),
    },
    Subscription: {
      auditFeed: {
        // Authorized as the audit query: the feed shows the same entries as they are recorded.
        subscribe: async (_parent: unknown, args: { filter?: FeedFilter | null }, context: ApiContext) => {
          await allowed(deps.access.authorizeQuery(context.principal, 'audit'), context);
          const filter = await fromViews(async () => matches(present(args.filter)));
          return live<AuditEntry>(
            (push) => deps.changes.onChange((change) => change.audit.forEach(push)),
            filter,
            env.maxQueuedPerSubscription,
          );
        },
        resolve: (entry: unknown) => entry,
      },
    },
  };
};
