#!/usr/bin/env node
import * as E from 'fp-ts/Either';
import { parseArgs } from 'node:util';
import { createPrincipal, revokePrincipal, rotatePrincipalToken } from '../application/access';
import { Role } from '../application/command-envelope';
import { createApiServer } from '../api/server';
import { checkViews, rebuildViews } from '../read-models/rebuild';
import { Config, ConfigError, describeEventStore, describeReadModels, loadConfig } from '../infrastructure/config';
import { MasterKeyError } from '../infrastructure/keys/master-key';
import { checkVault, Core, openCore, openPlatform, openViews, VaultMismatchError } from '../infrastructure/platform';
import { RedisViewStore } from '../infrastructure/read-models/redis-view-store';
import { ViewsUnavailableError } from '../application/ports/view-store';
import { AuditVerification, ChainHead, StoreUnavailableError } from '../application/ports/event-store';
import { AuditVerifyOptions, keepHead, verifyAudit } from '../infrastructure/audit-verify';
import * as path from 'node:path';
import { principalAggregate } from '../domain/principal';
import { SaeId } from '../domain/saekeys';
import { fillPool, FillProgress } from '../application/keypool/fill-pool';
import { sweepStranded } from '../application/keypool/sweep-stranded';
import { CommandError } from '../application/errors';
import { chargeKeyDelivery } from '../application/charge/deliver-keys';
import { Actor } from '../application/command-envelope';
import { createKeyDeliveryServer } from '../api/etsi/server';
import { openAuthority } from '../infrastructure/pki/authority';
import { registerSae } from '../infrastructure/pki/sae-credentials';
import { openKeySource } from '../infrastructure/key-sources/open';
import { lockSource, SourceBusyError } from '../infrastructure/key-sources/source-lock';

const USAGE = `usage: qkmp <command>

  serve                                         run the platform (GraphQL at /graphql)
  admin create --name NAME --role ROLE [--id ID] create a principal and print its token once
  admin rotate --id ID                          give a principal a new token (the old one stops working)
  admin revoke --id ID --reason TEXT            revoke a principal's token for good
  projections rebuild                           drop the views and replay the whole log into them
  projections check                             replay into a scratch namespace and report differences
  audit verify [--since POSITION:CHAIN]         check the log's hash chain; report the first position that does not match
                                                (--since: a head an earlier run printed, which must still be in place)
  keys generate --bytes N                       fill the key pool with N bytes from the key source; report QBER and efficiency
  sae register --id ID --out DIR                register a gateway SAE: write its certificate, key and the CA certificate

Roles: SECURITY_ADMIN, USER_ADMIN, AUDITOR, CHARGER (--id is then the charger's id), GATEWAY.
Configuration comes from the environment (see the README): QKMP_EVENT_STORE, QKMP_PG_SCHEMA,
QKMP_READ_MODELS, QKMP_VIEWS_NAMESPACE, QKMP_DATA_DIR, QKMP_MASTER_KEY_FILE, QKMP_MASTER_KEY,
QKMP_VAULT_FILE, QKMP_LISTEN, QKMP_ETSI_LISTEN, QKMP_KME_ID, QKMP_KEY_SOURCE, QKMP_KEY_SOURCE_ID,
QKMP_KME_SLAVE_SAE_ID, QKMP_KME_CERT, QKMP_KME_KEY, QKMP_KME_CA, NODE_ENV.`;

class UsageError extends Error {}
/** The platform refused a command; its message says why and what to do. */
class CommandFailed extends Error {}

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
/** Set before a token is written out: a reader that stops early then loses it. */
let tokenPrinted = false;

const option = (values: Record<string, string | boolean | undefined>, name: string): string => {
  const value = values[name];
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`);
  return value;
};

const fail = (message: string): never => {
  throw new CommandFailed(message);
};

/** The platform's own tools on its host act as SYSTEM. */
const SYSTEM = (id: string): Actor => ({ id, role: 'SYSTEM' });

/**
 * The log a command works on, once it answered a read: a store that cannot be reached stops the
 * command with the driver's reason (a database that does not exist, a refused connection), which
 * a refused command would not carry.
 */
const reachCore = async (config: Config): Promise<Core> => {
  const core = openCore(config);
  try {
    await core.store.lastPosition();
    return core;
  } catch (error) {
    await core.close();
    throw error;
  }
};

const pkiDir = (dataDir: string): string => path.join(dataDir, 'pki');

const LISTEN_FAULTS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'another program listens there',
  EACCES: 'this user may not listen on that port',
  EADDRNOTAVAIL: 'no interface of this host has that address',
};

/** Starts a server; a fault of its address is one line naming the variable that moves it. */
const listenOn = async (
  what: string,
  variable: string,
  { host, port }: Config['listen'],
  listen: (port: number, host: string) => Promise<string>,
): Promise<string> => {
  try {
    return await listen(port, host);
  } catch (error) {
    const fault = LISTEN_FAULTS[(error as NodeJS.ErrnoException).code ?? ''];
    if (fault === undefined) throw error;
    return fail(`cannot serve ${what} on ${host}:${port}: ${fault}; stop that program or set ${variable} to another [HOST:]PORT`);
  }
};

/** Within a container's or a service manager's usual patience before it kills the process. */
const STOP_DEADLINE_MS = 8000;

/** A reservation older than this was stranded by a process that stopped: a delivery takes milliseconds. */
const STRANDED_AFTER_MS = 60_000;

/** What a command in another shell must share with the server to act on the same installation. */
const SAME_INSTALLATION = [
  'QKMP_EVENT_STORE',
  'QKMP_PG_SCHEMA',
  'QKMP_DATA_DIR',
  'QKMP_MASTER_KEY_FILE',
  'QKMP_MASTER_KEY',
  'QKMP_VAULT_FILE',
  'QKMP_READ_MODELS',
  'QKMP_VIEWS_NAMESPACE',
  'QKMP_KEY_SOURCE',
  'QKMP_KEY_SOURCE_ID',
  'QKMP_KME_SLAVE_SAE_ID',
  'QKMP_KME_CERT',
  'QKMP_KME_KEY',
  'QKMP_KME_CA',
] as const;

const serve = async (): Promise<void> => {
  const config = loadConfig();
  const platform = await openPlatform(config, (error) => process.stderr.write(`qkmp: ${error.message}\n`));
  const swept = (outcome: E.Either<CommandError, readonly string[]>): void => {
    if (E.isLeft(outcome)) process.stderr.write(`qkmp: key pool recovery: ${outcome.left.message}\n`);
    else if (outcome.right.length > 0) {
      out(`key pool ${config.keySource.sourceId}: ${outcome.right.length} ranges reserved over a minute ago were never delivered; destroyed, never reissued`);
    }
  };
  const sweep = sweepStranded(platform.keyPool, SYSTEM('qkmp-serve'), config.keySource.sourceId, STRANDED_AFTER_MS, swept);
  const first = await sweep.once();
  if (E.isLeft(first)) fail(`key pool recovery: ${first.left.message}`);
  swept(first);
  const keyDelivery = createKeyDeliveryServer({
    delivery: platform.keyDelivery,
    authority: await openAuthority(pkiDir(config.dataDir)),
    kmeId: config.keyDelivery.kmeId,
  });
  const server = await createApiServer(
    {
      bus: platform.bus,
      readModels: platform.readModels,
      access: platform.access,
      store: platform.store,
      changes: platform.projector,
      auditVerify: () => verifyAudit(auditOptions(platform)),
      charging: chargeKeyDelivery(platform.bus, platform.keyPool),
    },
    { production: config.production },
  );
  const url = await listenOn('GraphQL', 'QKMP_LISTEN', config.listen, server.listen);
  const etsiUrl = await listenOn('key delivery', 'QKMP_ETSI_LISTEN', config.keyDelivery.listen, keyDelivery.listen);
  out(`QKMP is listening at ${url}`);
  out(`  key delivery (ETSI GS QKD 014, mutual TLS): ${etsiUrl}/api/v1/keys/{SAE_ID}/...`);
  out(`  events:      ${describeEventStore(config.eventStore)}`);
  out(`  views:       ${describeReadModels(config.readModels)}`);
  out(`  key vault:   ${config.vaultFile}`);
  if (config.auditHeadFile !== undefined) out(`  audit head:  ${config.auditHeadFile} (kept up with the log while this server runs)`);
  out(`  master key:  ${config.masterKey !== undefined ? 'from QKMP_MASTER_KEY' : config.masterKeyFile}${platform.masterKeyCreated ? ' (created now: back it up, the audit chain and the key vault depend on it)' : ''}`);
  out(`  CA:          ${pkiDir(config.dataDir)} (signs the key delivery interface's certificates)`);
  const shared = SAME_INSTALLATION.filter((variable) => process.env[variable] !== undefined);
  if (shared.length > 0) out(`In another shell, set ${shared.join(', ')} as for this server first, or these commands act on another log.`);
  out('Make a token for a console (the command prints it once; keep it secret):');
  out('  npm run qkmp -- admin create --name "Security admin" --role SECURITY_ADMIN');
  out('Fill the key pool:   npm run qkmp -- keys generate --bytes 65536');
  out('Register a gateway:  npm run qkmp -- sae register --id GW-NORTH-1 --out ./gateway-north');
  out('Stop with Ctrl-C.');
  const headKeeper = keepHead(auditOptions(platform), (message) => process.stderr.write(`qkmp: ALERT: ${message}\n`));
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) {
      // A second signal while stopping: the operator will not wait.
      process.stderr.write('qkmp: stopped before the stores were closed\n');
      process.exit(1);
    }
    stopping = true;
    out('qkmp: stopping (a second Ctrl-C ends it at once)');
    const deadline = setTimeout(() => {
      process.stderr.write(`qkmp: stopping took over ${STOP_DEADLINE_MS / 1000} s; stopped before the stores were closed\n`);
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    await headKeeper?.stop();
    await sweep.stop();
    await Promise.all([keyDelivery.close(), server.close()]);
    await platform.close();
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
};

const admin = async (action: string | undefined, values: Record<string, string | boolean | undefined>): Promise<void> => {
  const config = loadConfig();
  const core = await reachCore(config);
  try {
    if (action === 'create') {
      const role = option(values, 'role');
      if (!Role.is(role) || role === 'SYSTEM') {
        throw new UsageError('--role must be one of SECURITY_ADMIN, USER_ADMIN, AUDITOR, CHARGER, GATEWAY');
      }
      const id = typeof values.id === 'string' ? values.id : undefined;
      if (role === 'CHARGER' && id === undefined) throw new UsageError("--id is required for a CHARGER: give the charger's id");
      const issued = await createPrincipal(core.bus, { name: option(values, 'name'), role, principalId: id });
      if (E.isLeft(issued)) fail(issued.left.message);
      else {
        out(`principal ${issued.right.principalId} (${role}) created in ${describeEventStore(config.eventStore)}.`);
        out(`token (shown once; send it as "Authorization: Bearer <token>"):`);
        tokenPrinted = true;
        out(issued.right.token);
      }
    } else if (action === 'rotate') {
      const rotated = await rotatePrincipalToken(core.bus, option(values, 'id'));
      if (E.isLeft(rotated)) fail(rotated.left.message);
      else {
        tokenPrinted = true;
        out(`new token for ${rotated.right.principalId} (shown once):\n${rotated.right.token}`);
      }
    } else if (action === 'revoke') {
      const revoked = await revokePrincipal(core.bus, option(values, 'id'), option(values, 'reason'));
      if (E.isLeft(revoked)) fail(revoked.left.message);
      else {
        out(
          `principal ${revoked.right.principalId} revoked; its token stops working as each server applies the revocation ` +
            '(within a second; at once on PostgreSQL while its notifications reach the server).',
        );
      }
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
  const core = await reachCore(config);
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

const auditOptions = (core: Core, anchor?: ChainHead): AuditVerifyOptions => ({
  store: core.store,
  headFile: core.config.auditHeadFile,
  headKey: core.masterKey.derive('audit-head/v1'),
  anchor,
});

/** `--since POSITION:CHAIN`, a head an earlier run printed. */
const anchorOf = (value: string | undefined): ChainHead | undefined => {
  if (value === undefined) return undefined;
  const match = /^([1-9]\d{0,14}):([0-9a-f]{64})$/.exec(value);
  if (match === null) throw new UsageError('--since must be POSITION:CHAIN as audit verify printed it, e.g. 42:<64 hex digits>');
  return { position: Number(match[1]), chain: match[2] };
};

/** What an intact verification says of the head the last one recorded in `file`. */
const headFound = (report: AuditVerification, file: string | undefined): string => {
  if (report.head === null) return 'the log is empty, so there is no head to record yet';
  if (file === undefined) return 'the log lives in memory, so no head is recorded';
  if (report.since === null) {
    return `no earlier verification was recorded in ${file}, so events cut from the end of the log before now would not show; this run recorded the head`;
  }
  return `the head the last verification saw (position ${report.since}) is still in place`;
};

const audit = async (action: string | undefined, since: string | undefined): Promise<void> => {
  if (action !== 'verify') throw new UsageError('audit takes verify');
  const anchor = anchorOf(since);
  const core = await reachCore(loadConfig());
  try {
    const report = await verifyAudit(auditOptions(core, anchor));
    if (report.ok) {
      const given = anchor === undefined ? '' : `; so is the head given (position ${anchor.position})`;
      out(`audit chain intact: ${report.checked} events checked; ${headFound(report, core.config.auditHeadFile)}${given}`);
      if (report.head !== null) {
        out(`head: ${report.head.position}:${report.head.chain}`);
        out('  keep it off this machine: audit verify --since with it shows later that the log still reaches it');
      }
    } else {
      const where = report.firstBadPosition === null ? '' : ` at position ${report.firstBadPosition}`;
      out(`audit chain BROKEN${where}: ${report.reason}`);
      process.exitCode = 1;
    }
  } finally {
    await core.close();
  }
};

/** A bar on a terminal; a line per tenth elsewhere, so a log shows progress without noise. */
const progressBar = () => {
  let lastTenth = -1;
  return ({ wantBytes, ingestedBytes, blocks, discarded }: FillProgress): void => {
    // Rounded down, so 100% means done; the last block may carry the total past what was asked.
    const share = Math.min(1, Math.floor((ingestedBytes / wantBytes) * 100) / 100);
    const amount = ingestedBytes < wantBytes ? `${ingestedBytes}/${wantBytes} bytes` : `${ingestedBytes} bytes (${wantBytes} asked; blocks come whole)`;
    const text = `${amount}, ${blocks} blocks kept, ${discarded} discarded`;
    if (process.stdout.isTTY) {
      const width = 30;
      const done = Math.round(share * width);
      process.stdout.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${(share * 100).toFixed(0).padStart(3)}% ${text}`);
      if (share >= 1) process.stdout.write('\n');
    } else if (Math.floor(share * 10) > lastTenth) {
      lastTenth = Math.floor(share * 10);
      out(`${(share * 100).toFixed(0).padStart(3)}% ${text}`);
    }
  };
};

const keys = async (action: string | undefined, values: Record<string, string | boolean | undefined>): Promise<void> => {
  if (action !== 'generate') throw new UsageError('keys takes generate');
  const bytes = Number(option(values, 'bytes'));
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 1 << 30) throw new UsageError('--bytes must be a whole number from 1 to 1073741824');
  const config = loadConfig();
  const core = await reachCore(config);
  const source = openKeySource(config.keySource, core.masterKey);
  try {
    const release = lockSource(config.dataDir, source.sourceId);
    try {
      await checkVault(core);
      out(`filling key pool ${source.sourceId} with ${bytes} bytes from ${source.description}`);
      const filled = await fillPool(core.keyPool, source, SYSTEM('qkmp-keys'), bytes, progressBar());
      if (E.isLeft(filled)) fail(filled.left.message);
      else {
        const r = filled.right;
        out(`ingested ${r.ingestedBytes} bytes in ${r.blocks} blocks; ${r.discarded} blocks discarded`);
        if (r.qber) out(`QBER: mean ${(r.qber.mean * 100).toFixed(2)}%, highest ${(r.qber.max * 100).toFixed(2)}%`);
        if (r.efficiency !== undefined) out(`reconciliation efficiency f: ${r.efficiency.toFixed(3)} (1 is the Shannon limit)`);
        const pool = await core.keyPool.state(source.sourceId);
        if (E.isRight(pool)) {
          const { available, ingested } = pool.right.state.balance;
          const position = await core.store.lastPosition();
          out(`pool ${source.sourceId}: ${available} bytes available of ${ingested} ingested, at log position ${position}`);
          out(`(a query with consistentWith: ${position} waits until the views show it)`);
        }
        if (r.stoppedBecause !== undefined) {
          fail(`the key source discarded ${r.discarded} blocks in a row, the last because ${r.stoppedBecause}; check the link (an eavesdropper raises the QBER), then run again`);
        }
      }
    } finally {
      release();
    }
  } finally {
    await source.close();
    await core.close();
  }
};

const sae = async (action: string | undefined, values: Record<string, string | boolean | undefined>): Promise<void> => {
  if (action !== 'register') throw new UsageError('sae takes register');
  const id = option(values, 'id');
  if (!SaeId.is(id)) throw new UsageError(`--id must be ${SaeId.name}`);
  const outDir = path.resolve(option(values, 'out'));
  const config = loadConfig();
  const core = await reachCore(config);
  try {
    const existing = await core.bus.load(principalAggregate, id);
    if (E.isLeft(existing)) fail(existing.left.message);
    else if (existing.right.state.status === 'REVOKED') fail(`SAE ${id} was revoked; register the gateway under a new id`);
    else if (existing.right.state.status === 'ACTIVE' && existing.right.state.role !== 'GATEWAY') {
      fail(`${id} is a ${existing.right.state.role} principal, not an SAE; choose another id`);
    } else if (existing.right.state.status === 'NONE') {
      // The SAE authenticates by its certificate; the principal's token is not handed out.
      const created = await createPrincipal(core.bus, { name: `SAE ${id}`, role: 'GATEWAY', principalId: id });
      if (E.isLeft(created)) fail(created.left.message);
    }
    const files = await registerSae(await openAuthority(pkiDir(config.dataDir)), id, outDir);
    out(`SAE ${id} registered. Its credentials (the key is secret; keep it owner-only):`);
    out(`  certificate: ${files.certificate}`);
    out(`  private key: ${files.privateKey}`);
    out(`  CA:          ${files.ca}`);
    const { host, port } = config.keyDelivery.listen;
    out(`Try: curl --cert ${files.certificate} --key ${files.privateKey} --cacert ${files.ca} https://${host}:${port}/api/v1/keys/<slave SAE id>/status`);
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
      bytes: { type: 'string' },
      out: { type: 'string' },
      since: { type: 'string' },
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
      return audit(action, values.since);
    case 'keys':
      return keys(action, values);
    case 'sae':
      return sae(action, values);
    default:
      throw new UsageError(`unknown command ${command}`);
  }
};

/** A driver's reason in words: a refused connection to a host of several addresses is an AggregateError with no message. */
const reasonOf = (cause: unknown): string =>
  cause instanceof AggregateError && cause.message === ''
    ? [...new Set(cause.errors.map(reasonOf))].join('; ')
    : cause instanceof Error
      ? cause.message || ((cause as NodeJS.ErrnoException).code ?? cause.name)
      : String(cause);

// A reader that stops early (`| head -1`) closes the pipe: say what may be lost instead of a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.stderr.write(
    'qkmp: the output was closed before all of it was written' +
      (tokenPrinted ? '; the token it held is lost: make a new one with admin rotate --id ID\n' : '\n'),
  );
  process.exit(1);
});

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`qkmp: ${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  // Errors the user can act on are one line; anything else keeps its stack for a bug report.
  const known =
    error instanceof ConfigError || error instanceof MasterKeyError || error instanceof CommandFailed ||
    error instanceof ViewsUnavailableError ||
    error instanceof SourceBusyError ||
    error instanceof VaultMismatchError;
  const line =
    error instanceof StoreUnavailableError
      ? `${error.message}: ${reasonOf(error.cause)}; check QKMP_EVENT_STORE`
      : known
        ? (error as Error).message
        : error instanceof Error
          ? error.stack
          : String(error);
  process.stderr.write(`qkmp: ${line}\n`);
  process.exit(1);
});
