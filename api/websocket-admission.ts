import type { WebSocket } from 'ws';
import { Limits } from './limits';

interface Counts {
  open: number;
  unauthenticated: number;
}

/**
 * Open connections per address, and of those the ones not yet authenticated (an upgrade request
 * with a token was authenticated before it). verifyClient asks last in the turn the upgrade
 * completes in, so the counts cannot be overtaken by a burst.
 */
export const webSocketAdmission = (limits: Limits) => {
  const addresses = new Map<string, Counts>();
  const unauthenticated = new Map<WebSocket, Counts>();
  return {
    /** Why a new connection from this address is refused, or undefined if it may open. */
    refusal: (address: string, authenticated: boolean): string | undefined => {
      const counts = addresses.get(address);
      if (counts === undefined) return undefined;
      if (counts.open >= limits.maxWebSocketsPerAddress) {
        return `at most ${limits.maxWebSocketsPerAddress} WebSocket connections from one address; close one or retry later`;
      }
      if (!authenticated && counts.unauthenticated >= limits.maxUnauthenticatedWebSocketsPerAddress) {
        const most = limits.maxUnauthenticatedWebSocketsPerAddress;
        return `at most ${most} WebSocket connections from one address may wait for connection_init; send it, or retry later`;
      }
      return undefined;
    },
    opened: (socket: WebSocket, address: string, authenticated: boolean): void => {
      const counts = addresses.get(address) ?? { open: 0, unauthenticated: 0 };
      addresses.set(address, counts);
      counts.open++;
      if (!authenticated) {
        counts.unauthenticated++;
        unauthenticated.set(socket, counts);
      }
      socket.once('close', () => {
        if (unauthenticated.delete(socket)) counts.unauthenticated--;
        if (--counts.open === 0) addresses.delete(address);
      });
    },
    authenticated: (socket: WebSocket): void => {
      const counts = unauthenticated.get(socket);
      if (counts === undefined) return;
      unauthenticated.delete(socket);
      counts.unauthenticated--;
    },
  };
};
