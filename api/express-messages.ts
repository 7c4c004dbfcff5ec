import type { Express } from 'express';
import http from 'node:http';

/** The classes an HTTP or HTTPS server constructs its requests and responses with. */
export interface MessageClasses {
  readonly IncomingMessage: typeof http.IncomingMessage;
  readonly ServerResponse: typeof http.ServerResponse;
}

/**
 * Request and response classes born with `app`'s prototypes, for the server's options.
 *
 * Express hands every request and response to `Object.setPrototypeOf`. In V8 that keeps each
 * request's objects alive through the next young-generation collections: a bare route promoted
 * about 4 MB per collection, paused 10 to 15 ms each time and served less than half the requests
 * of the same route without it. Objects constructed with the app's prototypes make that call a
 * no-op. The prototypes stay linked to Express's, so nothing Express or a middleware defines is
 * lost. Mounting the app in another would re-parent these prototypes onto the other app's and cut
 * this app's own settings out of the chain, so it is refused.
 */
export const expressMessages = (app: Express): MessageClasses => {
  class Request extends http.IncomingMessage {}
  class Response<R extends http.IncomingMessage = http.IncomingMessage> extends http.ServerResponse<R> {}
  Object.setPrototypeOf(Request.prototype, app.request);
  Object.setPrototypeOf(Response.prototype, app.response);
  app.request = Request.prototype as unknown as Express['request'];
  app.response = Response.prototype as unknown as Express['response'];
  app.on('mount', () => {
    throw new Error('an Express app that serves with its own request classes cannot be mounted in another app');
  });
  return { IncomingMessage: Request, ServerResponse: Response };
};
