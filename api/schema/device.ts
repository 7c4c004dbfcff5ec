export const deviceTypeDefs = /* GraphQL */ `
  enum DeviceKind { UKEY TF_CARD SD_CARD }
  enum CredentialKind { CERTIFICATE QK_STRING }
  enum DeviceStatus { INITIALIZED DISTRIBUTED ACTIVE LOST FROZEN DESTROYED }
  enum AuthenticationFailureReason { BAD_PIN BAD_PROOF UNKNOWN_CREDENTIAL }

  type Device {
    serial: String!
    kind: DeviceKind!
    status: DeviceStatus!
    credentialKind: CredentialKind!
    organisation: String
    userId: String
    pinLocked: Boolean!
    initializedAt: DateTime!
    distributedAt: DateTime
    boundAt: DateTime
    reportedLostAt: DateTime
    lossCancelledAt: DateTime
    frozenAt: DateTime
    restoredAt: DateTime
    destroyedAt: DateTime
    pinLockedAt: DateTime
    pinUnblockedAt: DateTime
    updatedAt: DateTime!
    "Log position of the last event that changed this view."
    position: SafeInt!
  }

  input DeviceFilter {
    status: DeviceStatus
    kind: DeviceKind
    organisation: String
    userId: String
  }

  type DevicePage {
    items: [Device!]!
    total: Int!
    "Pass as after for the next page; null on the last page."
    endCursor: String
  }

  "Bytes of key on a device: remaining = charged - consumed - frozen - destroyed."
  type DeviceKeyBalance {
    serial: String!
    charged: SafeInt!
    consumed: SafeInt!
    frozen: SafeInt!
    destroyed: SafeInt!
    remaining: SafeInt!
  }

  "A device as its own event stream had it at some point."
  type DeviceSnapshot {
    status: DeviceStatus!
    kind: DeviceKind!
    credentialKind: CredentialKind!
    "Digest of the public certificate or keyed commitment of the QK string; never the credential."
    credentialFingerprint: String!
    organisation: String
    userId: String
    pinLocked: Boolean!
    pinFailures: Int!
    consecutiveFailures: Int!
  }

  type HistoryEvent {
    type: String!
    data: JSON!
    position: SafeInt!
    revision: Int!
    at: DateTime!
    actorId: String!
    actorRole: String!
    commandId: String!
  }

  "Replay up to and including this time and/or log position; without either, up to now."
  input AsOf {
    time: DateTime
    position: SafeInt
  }

  type DeviceHistory {
    serial: String!
    "Revision of the last event replayed; -1 when the device did not exist yet."
    revision: Int!
    "Null when the device did not exist yet at that point."
    state: DeviceSnapshot
    events: [HistoryEvent!]!
  }

  extend type Query {
    "Null when no such device is known."
    device(serial: String!, consistentWith: SafeInt): Device
    devices(filter: DeviceFilter, first: Int, after: String, consistentWith: SafeInt): DevicePage!
    deviceBalance(serial: String!, consistentWith: SafeInt): DeviceKeyBalance
    "Replays the device's own stream, for audit replay and forensics; null when the serial was never initialized."
    deviceHistory(serial: String!, asOf: AsOf): DeviceHistory
  }

  input InitializeDeviceInput {
    commandId: String!
    expectedRevision: Int
    serial: String!
    kind: DeviceKind!
    credentialKind: CredentialKind!
    "SHA-256 (64 lowercase hex) of the public certificate, or a keyed commitment of the QK string."
    credentialFingerprint: String!
  }
  input DistributeDeviceInput { commandId: String!, expectedRevision: Int, serial: String!, organisation: String! }
  input BindDeviceInput { commandId: String!, expectedRevision: Int, serial: String!, userId: String! }
  input ReportDeviceLostInput { commandId: String!, expectedRevision: Int, serial: String!, reason: String! }
  input CancelDeviceLossInput { commandId: String!, expectedRevision: Int, serial: String! }
  input FreezeDeviceInput { commandId: String!, expectedRevision: Int, serial: String!, reason: String! }
  input RestoreDeviceInput { commandId: String!, expectedRevision: Int, serial: String! }
  input DestroyDeviceInput { commandId: String!, expectedRevision: Int, serial: String!, reason: String! }
  "A kiosk's PIN check of the device it is charging: chargeId names that charge, started and not yet verified."
  input RecordDeviceAuthenticationFailureInput {
    commandId: String!
    expectedRevision: Int
    serial: String!
    chargerId: String!
    chargeId: String!
    reason: AuthenticationFailureReason!
  }
  "A kiosk's PIN check of the device it is charging: chargeId names that charge, started and not yet verified."
  input RecordDeviceAuthenticatedInput {
    commandId: String!
    expectedRevision: Int
    serial: String!
    chargerId: String!
    chargeId: String!
  }
  input UnblockDevicePinInput { commandId: String!, expectedRevision: Int, serial: String! }

  extend type Mutation {
    initializeDevice(input: InitializeDeviceInput!): CommandReceipt
    distributeDevice(input: DistributeDeviceInput!): CommandReceipt
    "Registers and activates the device for its user."
    bindDevice(input: BindDeviceInput!): CommandReceipt
    reportDeviceLost(input: ReportDeviceLostInput!): CommandReceipt
    cancelDeviceLoss(input: CancelDeviceLossInput!): CommandReceipt
    freezeDevice(input: FreezeDeviceInput!): CommandReceipt
    restoreDevice(input: RestoreDeviceInput!): CommandReceipt
    destroyDevice(input: DestroyDeviceInput!): CommandReceipt
    recordDeviceAuthenticationFailure(input: RecordDeviceAuthenticationFailureInput!): CommandReceipt
    recordDeviceAuthenticated(input: RecordDeviceAuthenticatedInput!): CommandReceipt
    unblockDevicePin(input: UnblockDevicePinInput!): CommandReceipt
  }

  extend type Subscription {
    "Each change to a device view, or to the one device named."
    deviceChanged(serial: String): Device!
  }
`;
