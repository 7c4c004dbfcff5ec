import { getNamedType, GraphQLInputObjectType, GraphQLObjectType, GraphQLSchema } from 'graphql';
import * as t from 'io-ts';
import { ApiDeps } from '../../api/context';
import { mutationName } from '../../api/resolvers/commands';
import { buildSchema } from '../../api/schema';
import { commandPolicy, governedAggregates, hasMutation, queryOperations } from '../../application/access/policy';
import { commandRoutes } from '../../application/routes';

// The schema is built without a platform behind it: these tests read its shape and never resolve.
const schema: GraphQLSchema = buildSchema({
  deps: {} as ApiDeps,
  consistencyTimeoutMs: 1,
  maxQueuedPerSubscription: 1,
});
const mutationType = schema.getMutationType() as GraphQLObjectType;

/** The data fields of a `message(type, data)` codec. */
const dataFields = (codec: t.Mixed): string[] => {
  const data = (codec as unknown as t.InterfaceType<{ data: t.ExactType<t.InterfaceType<t.Props>> }>).props.data;
  return Object.keys(data.type.props);
};

const governed = governedAggregates.flatMap((aggregate) =>
  Object.entries(aggregate.commandCodecs).map(([type, codec]) => ({ type, codec })),
);
const ruleOf = (type: string) => commandPolicy[type as keyof typeof commandPolicy];
/** Commands the policy grants to no role (principal management, done on the platform host): no mutation may offer them. */
const hostOnly = governed.filter(({ type }) => ruleOf(type).roles.length === 0);
const exposed = governed.filter(({ type }) => hasMutation(ruleOf(type)));

describe('the GraphQL schema', () => {
  it('has one mutation for every command a token may send, and none other', () => {
    // chargeKeys is the one mutation that is not a command of its own: it runs the delivery steps,
    // starting with ReserveKeyRange, which has no mutation of its own.
    expect(Object.keys(mutationType.getFields()).sort()).toEqual([...exposed.map(({ type }) => mutationName(type)), 'chargeKeys'].sort());
  });

  it('leaves out exactly the commands no role may send', () => {
    expect(hostOnly.map(({ type }) => type).sort()).toEqual([
      'CreatePrincipal',
      'DeliverChargeKeys',
      'DeliverSaeKeys',
      'IngestKeyMaterial',
      'IssueKeyRange',
      'IssueSaeKeys',
      'RecordKeyBlockDiscarded',
      'RecordSaeKeyRefusal',
      'ReleaseKeyRange',
      'RevokePrincipal',
      'RotatePrincipalToken',
    ]);
  });

  it('covers every command type the command bus routes: a mutation, the host, or chargeKeys runs it', () => {
    const routed = commandRoutes.flatMap((route) => Object.keys(route.aggregate.commandCodecs));
    const viaChargeKeys = governed.filter(({ type }) => 'via' in ruleOf(type) && ruleOf(type).roles.length > 0);
    expect(viaChargeKeys.map(({ type }) => type)).toEqual(['ReserveKeyRange']);
    const offered = new Set([...exposed, ...hostOnly, ...viaChargeKeys].map(({ type }) => type));
    expect(routed.filter((type) => !offered.has(type))).toEqual([]);
  });

  it.each(exposed.map(({ type, codec }) => [type, codec] as const))(
    '%s takes an input that mirrors the command data, plus commandId and expectedRevision',
    (type, codec) => {
      const field = mutationType.getFields()[mutationName(type)];
      expect(field.args.map((arg) => arg.name)).toEqual(['input']);
      const input = getNamedType(field.args[0].type) as GraphQLInputObjectType;
      expect(Object.keys(input.getFields()).sort()).toEqual([...dataFields(codec), 'commandId', 'expectedRevision'].sort());
      expect(String(input.getFields().commandId.type)).toBe('String!');
      expect(String(input.getFields().expectedRevision.type)).toBe('Int');
      // Nullable: a refused command's field is null without taking the receipts of earlier ones with it.
      expect(String(field.type)).toBe('CommandReceipt');
      expect(field.resolve).toBeDefined();
    },
  );

  it('offers every query operation the access policy governs, each with a resolver', () => {
    const queryFields = (schema.getQueryType() as GraphQLObjectType).getFields();
    expect(Object.keys(queryFields).sort()).toEqual([...queryOperations].sort());
    for (const operation of queryOperations) expect(queryFields[operation].resolve).toBeDefined();
  });
});
