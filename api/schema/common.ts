// Types every noun shares: the scalars, the root types the nouns extend, a command's receipt and
// what the views report about themselves.
export const commonTypeDefs = /* GraphQL */ `
  scalar SafeInt
  scalar DateTime
  scalar JSON

  """
  Queries read the views, which follow the event log: pass a receipt's position as consistentWith
  to wait (at most a few seconds) until they show that write.
  """
  type Query {
    "How far the views have followed the log."
    viewsStatus: ViewsStatus!
  }

  """
  One mutation per command. commandId is the idempotency key: sending the same command again with
  the same id returns the first receipt (replayed: true) and changes nothing; the same id with other
  arguments, or for another command, is refused with IDEMPOTENCY_KEY_REUSED. expectedRevision is
  the stream revision the console last saw; if the stream moved since, the command is refused with
  CONFLICT and the current state. A refused command's field is null, with its error in errors: the
  mutations of one request run in turn, and those before a refused one stay done and keep their
  receipts.
  """
  type Mutation

  type Subscription

  type ViewsStatus {
    "The lowest log position every view has reached."
    position: SafeInt!
    "True while the views are not live (catching up at start or after a fault, unreachable, or unable to follow the log): view queries answer VIEWS_STALE meanwhile."
    stale: Boolean!
    "Why the views are stale; null when they are not."
    reason: String
  }

  type ReceiptEvent {
    type: String!
    data: JSON!
  }

  "What a command did."
  type CommandReceipt {
    commandId: String!
    streamId: String!
    "Revision of the stream's last event after the command."
    revision: Int!
    "Log position of the last event written: pass it as consistentWith to read this write."
    position: SafeInt!
    "True when this command id was handled before and this is its first answer again."
    replayed: Boolean!
    events: [ReceiptEvent!]!
  }
`;
