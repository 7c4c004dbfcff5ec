/** Every bound the API enforces; tests set them low. */
export interface Limits {
  /** Selection depth of an operation (graphql-armor). */
  readonly maxDepth: number;
  readonly maxAliases: number;
  /**
   * graphql-armor's estimate: 2 per object, 1 per scalar, growing with depth and multiplied by a
   * literal page size (`first`).
   */
  readonly maxCost: number;
  readonly maxDirectives: number;
  /** Tokens in a document, checked by the parser before anything else. */
  readonly maxTokens: number;
  /** JSON request bodies and WebSocket messages. */
  readonly maxBodyBytes: number;
  /**
   * Requests per principal in each window (per address for a browser opening the landing page). A
   * refusal (FORBIDDEN, audited) counts `refusalWeight` requests: aliases make one request many
   * refusals, each an AccessDenied event, so a principal's refusals are bounded at limit / weight a
   * window (plus one request's aliases), while every one is still audited. Default 10.
   */
  readonly rateLimit: { readonly windowMs: number; readonly limit: number; readonly refusalWeight?: number };
  /**
   * Requests refused for want of a working token (none, malformed, unknown, revoked) per address in
   * each window, each audited once; past it, such requests are answered 429 and not audited. A
   * working token from the address still passes.
   */
  readonly authenticationFailures: { readonly windowMs: number; readonly limit: number };
  /** Parsed and validated subscription documents kept for reuse (over HTTP, Apollo's document store keeps its own). */
  readonly cachedDocuments: number;
  /** Open WebSocket connections, all principals together. */
  readonly maxWebSockets: number;
  /**
   * Open WebSocket connections from one address (IPv6 by /56), so that one address cannot take the
   * slots of maxWebSockets that others need.
   */
  readonly maxWebSocketsPerAddress: number;
  /** Of those, connections whose connection_init has not been authenticated yet. */
  readonly maxUnauthenticatedWebSocketsPerAddress: number;
  /** How long a new WebSocket has to send its connection_init before it is closed (4408). */
  readonly webSocketInitTimeoutMs: number;
  readonly maxSubscriptionsPerSocket: number;
  /** How often an open WebSocket's token is checked again, so a revoked or rotated token ends its subscriptions. */
  readonly webSocketRecheckMs: number;
  /** Changes a subscriber may fall behind by before its subscription ends. */
  readonly maxQueuedPerSubscription: number;
  /** How long a query with consistentWith waits for the views. */
  readonly consistencyTimeoutMs: number;
}

export const defaultLimits: Limits = {
  maxDepth: 8,
  maxAliases: 15,
  // One full page (MAX_PAGE_SIZE) of the richest list (devices), every field selected, fits (25,375); two do not.
  maxCost: 26_000,
  maxDirectives: 20,
  maxTokens: 2000,
  maxBodyBytes: 64 * 1024,
  rateLimit: { windowMs: 60_000, limit: 600, refusalWeight: 10 },
  authenticationFailures: { windowMs: 60_000, limit: 20 },
  cachedDocuments: 500,
  maxWebSockets: 1000,
  // A console multiplexes its subscriptions over one connection: 32 lets a control room of consoles
  // share one NAT address, and it takes 32 addresses to fill maxWebSockets.
  maxWebSocketsPerAddress: 32,
  // A client is unauthenticated from the upgrade until its connection_init (sent at once) is
  // checked: a round trip. 8 lets consoles behind one address reconnect together after a restart.
  maxUnauthenticatedWebSocketsPerAddress: 8,
  // A round trip on a slow link, well under graphql-ws's 3 s: a socket that sends nothing holds a slot briefly.
  webSocketInitTimeoutMs: 2000,
  maxSubscriptionsPerSocket: 20,
  webSocketRecheckMs: 5000,
  maxQueuedPerSubscription: 1000,
  consistencyTimeoutMs: 5000,
};
