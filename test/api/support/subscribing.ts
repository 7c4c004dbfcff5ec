import { Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

/** Polls `condition` every 10 ms; fails after `timeoutMs`. */
export const waitUntil = async (condition: () => boolean, timeoutMs = 2000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** A graphql-ws client that connects on its first subscribe and never retries, with the token in connectionParams. */
export const webSocketClient = (url: string, authorization?: string): Client =>
  createClient({
    url,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    ...(authorization !== undefined && { connectionParams: { authorization } }),
  });

/** Resolves to the code and reason the client's socket was closed with. */
export const closedWith = (client: Client): Promise<{ code: number; reason: string }> =>
  new Promise((resolve) =>
    client.on('closed', (event) => {
      const { code, reason } = event as { code: number; reason: string };
      resolve({ code, reason });
    }),
  );
