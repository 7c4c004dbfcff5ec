export const auditTypeDefs = /* GraphQL */ `
  enum AuditOutcome { SUCCESS REFUSED FAILED }

  type AuditEntry {
    position: SafeInt!
    eventId: String!
    streamId: String!
    revision: Int!
    "The event type, e.g. DeviceFrozen, ChargeFailed, AccessDenied."
    action: String!
    "What the action was about: device:<serial>, charger:<id>, keypool:<source>, charge:<id>, ..."
    target: String!
    actorId: String!
    actorRole: String!
    outcome: AuditOutcome!
    "Why a refused or failed attempt did not succeed; null for successes."
    reason: String
    at: DateTime!
    commandId: String!
    correlationId: String!
    "Other targets the event names: the device and charger of a charge, the device a key range went to, the charger a device authenticated at, what a refused request asked for."
    concerns: [String!]!
  }

  input AuditFilter {
    "Entries about this target (device:<serial>, charger:<id>, ...): of its stream, or naming it among their concerns."
    target: String
    actorId: String
    action: String
    outcome: AuditOutcome
    "Inclusive."
    from: DateTime
    "Exclusive."
    to: DateTime
  }

  type AuditPage {
    items: [AuditEntry!]!
    total: Int!
    endCursor: String
  }

  type CountBucket {
    "Start of the hour or day."
    bucket: DateTime!
    action: String!
    count: Int!
  }
  type ActionCount { action: String!, count: Int! }
  type ActorCount { actorId: String!, count: Int! }

  type AuditStats {
    perHour: [CountBucket!]!
    perDay: [CountBucket!]!
    total: Int!
    failures: Int!
    failuresByAction: [ActionCount!]!
    topActors: [ActorCount!]!
  }

  "The result of checking the audit chain over the whole log."
  type AuditVerification {
    ok: Boolean!
    checked: SafeInt!
    firstBadPosition: SafeInt
    reason: String
    "The position of the head the last good verification saw, found still in place; null when none was recorded, so a cut at the end of the log before now would not show."
    since: SafeInt
    "The log's last position and its chain value: kept outside the platform, it shows later that the log still reaches it."
    head: ChainHead
  }

  type ChainHead {
    position: SafeInt!
    "HMAC-SHA256 chain value, hex."
    chain: String!
  }

  input AuditFeedFilter {
    "As in AuditFilter: the target's own entries and those that name it."
    target: String
    actorId: String
    action: String
    outcome: AuditOutcome
  }

  extend type Query {
    audit(filter: AuditFilter, first: Int, after: String, consistentWith: SafeInt): AuditPage!
    auditStats(from: DateTime, to: DateTime, top: Int, consistentWith: SafeInt): AuditStats!
    auditVerify: AuditVerification!
  }

  extend type Subscription {
    "Audit entries as the views record them, from now on."
    auditFeed(filter: AuditFeedFilter): AuditEntry!
  }
`;
