import type { RequestHandler, Response } from 'express';
import type { TLSSocket } from 'node:tls';
import { Identifier } from '../../domain/shared/types';
import { Log } from '../log';

// The calling SAE is the subject CN of the client certificate that the TLS handshake verified
// against the platform's CA; nothing in the request itself can name another caller.

const SAE_ID = 'saeId';

export const callerOf = (res: Response): string => res.locals[SAE_ID] as string;

/**
 * The server refuses the handshake of a client without a valid certificate; this is the second
 * lock, for a session that somehow got through unverified: it never reaches a route.
 */
export const authenticateSae =
  (log: Log): RequestHandler =>
  (req, res, next) => {
    const socket = req.socket as TLSSocket;
    const commonName = socket.authorized ? socket.getPeerCertificate().subject?.CN : undefined;
    if (typeof commonName !== 'string' || !Identifier.is(commonName)) {
      log('etsi.unverified_client', { remoteAddress: socket.remoteAddress ?? null });
      res.status(401).json({
        message:
          "a client certificate issued by this KME's CA, naming one SAE id, is required; register the SAE and use its certificate",
      });
      return;
    }
    res.locals[SAE_ID] = commonName;
    next();
  };
