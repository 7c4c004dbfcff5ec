export const chargerTypeDefs = /* GraphQL */ `
  enum ChargerStatus { REGISTERED ATTESTED ATTESTATION_FAILED REVOKED }

  type Charger {
    chargerId: String!
    location: String!
    status: ChargerStatus!
    registeredAt: DateTime!
    attestedAt: DateTime
    attestationFailedAt: DateTime
    revokedAt: DateTime
    "Bytes delivered to devices in completed charges at this charger."
    bytesCharged: SafeInt!
    position: SafeInt!
  }

  type ChargerPage {
    items: [Charger!]!
    total: Int!
    endCursor: String
  }

  "The measured boot chain, trusted root first: SHA-256 digests as 64 lowercase hex characters."
  input BootMeasurementsInput {
    bootModule: String!
    operatingSystem: String!
    application: String!
  }

  extend type Query {
    "Null when no such charger is known."
    charger(chargerId: String!, consistentWith: SafeInt): Charger
    chargers(first: Int, after: String, consistentWith: SafeInt): ChargerPage!
  }

  input RegisterChargerInput {
    commandId: String!
    expectedRevision: Int
    chargerId: String!
    location: String!
    golden: BootMeasurementsInput!
  }
  input AttestChargerInput {
    commandId: String!
    expectedRevision: Int
    chargerId: String!
    measurements: BootMeasurementsInput!
  }
  input RevokeChargerInput { commandId: String!, expectedRevision: Int, chargerId: String!, reason: String! }

  extend type Mutation {
    registerCharger(input: RegisterChargerInput!): CommandReceipt
    "Compares the measured boot chain with the golden values; a mismatch is recorded as ChargerAttestationFailed."
    attestCharger(input: AttestChargerInput!): CommandReceipt
    revokeCharger(input: RevokeChargerInput!): CommandReceipt
  }
`;
