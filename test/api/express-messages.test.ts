import express from 'express';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { expressMessages } from '../../api/express-messages';

describe('requests and responses born with the app’s prototypes', () => {
  it('are constructed with them, so Express need not switch prototypes, and keep every Express feature', async () => {
    const app = express();
    const server = http.createServer(expressMessages(app), app);
    app.get('/echo/:name', (req, res) => {
      res.status(201).json({ name: req.params.name, host: req.hostname, accepts: req.accepts('json'), app: req.app === app });
    });
    // Runs before Express sees the request: what the server constructed.
    const born: boolean[] = [];
    server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      born.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const answer = await fetch(`http://127.0.0.1:${port}/echo/ukey`, { headers: { Accept: 'application/json' } });
      expect(answer.status).toBe(201);
      expect(await answer.json()).toEqual({ name: 'ukey', host: '127.0.0.1', accepts: 'json', app: true });
      expect(born).toEqual([true]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('refuse to be mounted in another app, which would cut the app’s own settings out of their chain', () => {
    const app = express();
    expressMessages(app);
    expect(() => express().use('/keys', app)).toThrow(/cannot be mounted/);
  });

  it('leave a plain server’s requests as they were', () => {
    const app = express();
    const { IncomingMessage } = expressMessages(app);
    expect(IncomingMessage.prototype).toBe(app.request);
    expect(Object.getPrototypeOf(new http.IncomingMessage(null as never))).toBe(http.IncomingMessage.prototype);
  });
});
