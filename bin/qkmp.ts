#!/usr/bin/env node
import * as E from 'fp-ts/Either';
import { parseArgs } from 'node:util';
import { createPrincipal, revokePrincipal, rotatePrincipalToken } from '../application/access';
import { Role } from '../application/command-envelope';
import { createApiServer } from '../api/server';
import { checkViews, rebuildViews } from '../read-models/rebuild';
import { ConfigError, describeEventStore, describeReadModels, loadConfig } from '../infrastructure/config';
import { MasterKeyError } from '../infrastructure/keys/master-key';
import { openCore, openPlatform, openViews } from '../infrastructure/platform';
import { RedisViewStore } from '../infrastructure/read-models/redis-view-store';
import { ViewsUnavailableError } from '../application/ports/view-store';
import { verifyAudit } from '../infrastructure/audit-verify';

const USAGE = `usage: qkmp <command>

  serve                                         run the platform (GraphQL at /graphql)
  admin create --name NAME --role ROLE [--id ID] create a principal and print its token once
  admin rotate --id ID                          give a principal a new token (the old one stops working)
  admin revoke --id ID --reason TEXT            revoke a principal's token for good
  projections rebuild                           drop the views and replay the whole log into them
  projections check                             replay into a scratch namespace and report differences
  audit verify                                  check the log's hash chain; report the first position that does not match

Roles: SECURITY_ADMIN, USER_ADMIN, AUDITOR, CHARGER (--id is then the charger's id), GATEWAY.
Configuration comes from the environment: QKMP_EVENT_STORE, QKMP_READ_MODELS, QKMP_DATA_DIR,
QKMP_LISTEN, QKMP_MASTER_KEY_FILE (see the README).`;

class UsageError extends Error {}
/** The platform refused a command; its message says why and what to do. */
class CommandFailed extends Error {}

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

const option = (values: Record<string, string | boolean | undefined>, name: string): string => {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value;
};

const fail = (message: string): never => {
  throw new CommandFailed(message);
};

const serve = async (): Promise<void> => {
  const config = loadConfig();
  const platform = await openPlatform(config, (error) => process.stderr.write(`qkmp: views: ${error.message}\n`));
  const server = await createApiServer(
    {
      bus: platform.bus,
      readModels: platform.readModels,
      access: platform.access,
      store: platform.store,
      changes: platform.projector,
      auditVerify: () => verifyAudit({ store: platform.store, dataDir: config.dataDir }),
    },
    { production: config.production },
  );
  const url = await server.listen(config.listen.port, config.listen.host);
  out(`QKMP is listening at ${url}`);
  out(`  events:      ${describeEventStore(config.eventStore)}`);
  out(`  views:       ${describeReadModels(config.readModels)}`);
  out(`  master key:  ${config.masterKey !== undefined ? 'from QKMP_MASTER_KEY' : config.masterKeyFile}${platform.masterKeyCreated ? ' (created now: back it up, the audit chain and the key vault depend on it)' : ''}`);
  out('First token for a console (printed once; keep it secret):');
  out('  npm run qkmp -- admin create --name "Security admin" --role SECURITY_ADMIN');
  out('Stop with Ctrl-C.');
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    out('qkmp: stopping');
    await server.close();
    await platform.close();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
};

const admin = async (action: string | undefined, values: Record<string, string | boolean | undefined>): Promise<void> => {
  const core = openCore(loadConfig());
  try {
    if (action === 'create') {
      const role = option(values, 'role');
      if (!Role.is(role) || role === 'SYSTEM') {
        throw new UsageError('--role must be one of SECURITY_ADMIN, USER_ADMIN, AUDITOR, CHARGER, GATEWAY');
      }
      const id = typeof values.id === 'string' ? values.id : undefined;
      const issued = await createPrincipal(core.bus, { name: option(values, 'name'), role, principalId: id });
      if (E.isLeft(issued)) fail(issued.left.message);
      else {
        out(`principal ${issued.right.principalId} (${role}) created.`);
        out(`token (shown once; send it as "Authorization: Bearer <token>"):`);
        out(issued.right.token);
      }
    } else if (action === 'rotate') {
      const rotated = await rotatePrincipalToken(core.bus, option(values, 'id'));
      if (E.isLeft(rotated)) fail(rotated.left.message);
      else out(`new token for ${rotated.right.principalId} (shown once):\n${rotated.right.token}`);
    } else if (action === 'revoke') {
      const revoked = await revokePrincipal(core.bus, option(values, 'id'), option(values, 'reason'));
      if (E.isLeft(revoked)) fail(revoked.left.message);
      else out(`principal ${revoked.right.principalId} revoked; its token no longer works.`);
    } else {
      throw new UsageError('admin takes create, rotate or revoke');
    }
  } finally {
    await core.close();
  }
};

const projections = async (action: string | undefined): Promise<void> => {
  if (action !== 'rebuild' && action !== 'check') throw new UsageError('projections takes rebuild or check');
  const config = loadConfig();
  if (config.readModels.kind === 'memory') {
    out('The views are in memory: every start of the server rebuilds them from the log, so there is nothing to rebuild');
    out('or check from here. Set QKMP_READ_MODELS=redis://host:port to keep them in Redis.');
    return;
  }
  const core = openCore(config);
  const views = openViews(config);
  try {
    if (views instanceof RedisViewStore && !(await views.ready(5000))) {
      fail(`cannot reach ${describeReadModels(config.readModels)}; check that Redis is running, then try again`);
    }
    if (action === 'rebuild') {
      const position = await rebuildViews(core.store, views);
      out(`views rebuilt from the log up to position ${position}`);
      return;
    }
    const result = await checkViews(core.store, views);
    if (result.differences.length === 0) {
      out(`views match the log (checkpoints ${JSON.stringify(result.checkpoints)})`);
      return;
    }
    for (const d of result.differences) out(`differs: ${d.key}\n  live:    ${JSON.stringify(d.live)}\n  rebuilt: ${JSON.stringify(d.rebuilt)}`);
    out(`${result.differences.length} view keys differ from a replay of the log; run: qkmp projections rebuild`);
    process.exitCode = 1;
  } finally {
    await views.close();
    await core.close();
  }
};

const audit = async (action: string | undefined): Promise<void> => {
  if (action !== 'verify') throw new UsageError('audit takes verify');
  const core = openCore(loadConfig());
  try {
    const report = await verifyAudit({ store: core.store, dataDir: core.config.dataDir });
    if (report.ok) out(`audit chain intact: ${report.checked} events checked`);
    else {
      out(`audit chain BROKEN at position ${report.firstBadPosition}: ${report.reason}`);
      process.exitCode = 1;
    }
  } finally {
    await core.close();
  }
};

const main = async (argv: string[]): Promise<void> => {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      role: { type: 'string' },
      id: { type: 'string' },
      reason: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, action] = positionals;
  if (values.help || command === undefined || command === 'help') return out(USAGE);
  switch (command) {
    case 'serve':
      return serve();
    case 'admin':
      return admin(action, values);
    case 'projections':
      return projections(action);
    case 'audit':
      return audit(action);
    default:
      throw new UsageError(`unknown command ${command}`);
  }
};

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`qkmp: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  // Errors the user can act on are one line; anything else keeps its stack for a bug report.
  const known =
    error instanceof ConfigError || error instanceof MasterKeyError || error instanceof CommandFailed || error instanceof ViewsUnavailableError;
  process.stderr.write(`qkmp: ${known ? (error as Error).message : error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
