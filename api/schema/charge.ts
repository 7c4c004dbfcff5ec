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
  input CompleteChargeInput { commandId: String!, expectedRevision: Int, chargeId: String!, deviceAcknowledgement: String! }
  input FailChargeInput { commandId: String!, expectedRevision: Int, chargeId: String!, reason: String! }

  "A key for the device: the key ID a gateway will ask for, and its bytes in base64."
  type ChargeKey { keyId: String!, key: String! }
  "Key handed to the kiosk for its device. Secret: write it to the device; it is stored and logged nowhere."
  type ChargeKeys {
    chargeId: String!
    rangeId: String!
    "Bytes of the charge delivered so far, these included."
    delivered: SafeInt!
    remaining: SafeInt!
    "Log position of the delivery: read your writes with consistentWith."
    position: SafeInt!
    keys: [ChargeKey!]!
  }
  input ChargeKeysInput { chargeId: String!, bytes: SafeInt! }

  extend type Mutation {
    "The next bytes of a verified charge, as keys with key IDs (call again until remaining is 0: the kiosk's progress bar)."
    chargeKeys(input: ChargeKeysInput!): ChargeKeys
    startCharge(input: StartChargeInput!): CommandReceipt
    recordChargeDeviceVerification(input: RecordChargeDeviceVerificationInput!): CommandReceipt
    completeCharge(input: CompleteChargeInput!): CommandReceipt
    failCharge(input: FailChargeInput!): CommandReceipt
  }
`;
