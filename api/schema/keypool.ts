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

  input IngestKeyMaterialInput {
    commandId: String!
    expectedRevision: Int
    sourceId: String!
    blockId: String!
    length: SafeInt!
    "Quantum bit error rate of the block, from 0 to 1."
    qber: Float!
    "Keyed commitment of the block (64 lowercase hex); never the key itself."
    commitment: String!
  }
  input ReserveKeyRangeInput {
    commandId: String!
    expectedRevision: Int
    sourceId: String!
    rangeId: String!
    length: SafeInt!
    chargeId: String!
  }
  input IssueKeyRangeInput {
    commandId: String!
    expectedRevision: Int
    sourceId: String!
    rangeId: String!
    deviceSerial: String!
  }
  input ReleaseKeyRangeInput { commandId: String!, expectedRevision: Int, sourceId: String!, rangeId: String! }
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
    ingestKeyMaterial(input: IngestKeyMaterialInput!): CommandReceipt!
    reserveKeyRange(input: ReserveKeyRangeInput!): CommandReceipt!
    issueKeyRange(input: IssueKeyRangeInput!): CommandReceipt!
    releaseKeyRange(input: ReleaseKeyRangeInput!): CommandReceipt!
    freezeKeyRange(input: FreezeKeyRangeInput!): CommandReceipt!
    restoreKeyRange(input: RestoreKeyRangeInput!): CommandReceipt!
    consumeKeyRange(input: ConsumeKeyRangeInput!): CommandReceipt!
    destroyKeyRange(input: DestroyKeyRangeInput!): CommandReceipt!
  }
`;
