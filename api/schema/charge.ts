export const chargeTypeDefs = /* GraphQL */ `
  enum VerificationMethod { CERTIFICATE QK_STRING }

  input StartChargeInput {
    commandId: String!
    expectedRevision: Int
    chargeId: String!
    deviceSerial: String!
    chargerId: String!
    sourceId: String!
    bytes: SafeInt!
  }
  "The platform's own check of the device's proof; the proof itself never reaches the platform's log."
  input RecordChargeDeviceVerificationInput {
    commandId: String!
    expectedRevision: Int
    chargeId: String!
    verified: Boolean!
    method: VerificationMethod!
  }
  input DeliverChargeKeysInput {
    commandId: String!
    expectedRevision: Int
    chargeId: String!
    sourceId: String!
    rangeId: String!
    offset: SafeInt!
    length: SafeInt!
    commitment: String!
  }
  input CompleteChargeInput { commandId: String!, expectedRevision: Int, chargeId: String!, deviceAcknowledgement: String! }
  input FailChargeInput { commandId: String!, expectedRevision: Int, chargeId: String!, reason: String! }

  extend type Mutation {
    startCharge(input: StartChargeInput!): CommandReceipt!
    recordChargeDeviceVerification(input: RecordChargeDeviceVerificationInput!): CommandReceipt!
    deliverChargeKeys(input: DeliverChargeKeysInput!): CommandReceipt!
    completeCharge(input: CompleteChargeInput!): CommandReceipt!
    failCharge(input: FailChargeInput!): CommandReceipt!
  }
`;
