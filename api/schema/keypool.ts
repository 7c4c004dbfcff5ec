export const keyPoolTypeDefs = /* GraphQL */ `
  "Bytes per key source: available + reserved + issued + frozen + consumed + destroyed = ingested."
  type PoolBalance {
    sourceId: String!
    ingested: SafeInt!
    available: SafeInt!
    reserved: SafeInt!
    issued: SafeInt!
    frozen: SafeInt!
    consumed: SafeInt!
    destroyed: SafeInt!
  }

  extend type Query {
    "Null when no key was ever ingested from this source."
    poolBalance(sourceId: String!, consistentWith: SafeInt): PoolBalance
    pools(consistentWith: SafeInt): [PoolBalance!]!
  }

  input FreezeKeyRangeInput {
    commandId: String!
    expectedRevision: Int
    sourceId: String!
    rangeId: String!
    reason: String!
  }
  input RestoreKeyRangeInput { commandId: String!, expectedRevision: Int, sourceId: String!, rangeId: String! }
  input ConsumeKeyRangeInput { commandId: String!, expectedRevision: Int, sourceId: String!, rangeId: String! }
  input DestroyKeyRangeInput {
    commandId: String!
    expectedRevision: Int
    sourceId: String!
    rangeId: String!
    reason: String!
  }

  extend type Mutation {
    freezeKeyRange(input: FreezeKeyRangeInput!): CommandReceipt
    restoreKeyRange(input: RestoreKeyRangeInput!): CommandReceipt
    consumeKeyRange(input: ConsumeKeyRangeInput!): CommandReceipt
    destroyKeyRange(input: DestroyKeyRangeInput!): CommandReceipt
  }
`;
