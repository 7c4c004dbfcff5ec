import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AccessControl } from '../../../application/access/access-control';
import { createPrincipal, revokePrincipal } from '../../../application/access/principals';
import { CommandBus } from '../../../application/command-bus';
import { principalAggregate } from '../../../domain/principal';
import { SqliteEventStore } from '../../../infrastructure/event-store/sqlite';
import { ok } from './fixture';

// The server and the command line share one SQLite file through separate connections; the
// server's store hears nothing of the other's appends and finds them by polling.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-access-'));
const file = path.join(dir, 'events.db');
let server: SqliteEventStore;
let cli: SqliteEventStore;
let access: AccessControl;
let cliBus: CommandBus;

beforeAll(async () => {
  server = new SqliteEventStore(file);
  cli = new SqliteEventStore(file);
  const serverBus = new CommandBus(server, [{ aggregate: principalAggregate }]);
  access = await AccessControl.open(server, serverBus.load);
  cliBus = new CommandBus(cli, [{ aggregate: principalAggregate }]);
});
afterAll(async () => {
  await access.close();
  await server.close();
  await cli.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a token issued or revoked by another process', () => {
  it('works at once, before the subscription brings it, and stops once its revocation has arrived', async () => {
    for (let i = 0; i < 3; i++) {
      const issued = ok(await createPrincipal(cliBus, { name: `Auditor ${i}`, role: 'AUDITOR' }));
      expect(ok(await access.authenticate(`Bearer ${issued.token}`))).toMatchObject({ id: issued.principalId });

      const revoked = ok(await revokePrincipal(cliBus, issued.principalId, 'end of test'));
      await access.caughtUpTo(revoked.position);
      expect((await access.authenticate(`Bearer ${issued.token}`))._tag).toBe('Left');
    }
  });
});
