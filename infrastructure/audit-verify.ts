import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AuditVerification, ChainHead, ChainReport, EventStore } from '../application/ports/event-store';
import { periodically } from '../application/periodic';

export interface AuditVerifyOptions {
  readonly store: EventStore;
  /** Where the head of this log is recorded; none for a log that lives in memory, gone at exit. */
  readonly headFile?: string;
  /** The master key's 'audit-head/v1' subkey: seals the head each good verification records. */
  readonly headKey: Buffer;
  /** A head kept outside the platform (from an earlier run's output), which must still be in place too. */
  readonly anchor?: ChainHead;
}

/**
 * Verifies the whole chain, then checks that the head the last good verification saw is still in
 * place: deleting events at the end of the log is the one edit the chain alone cannot show. The
 * head is recorded sealed, so whoever can write the data directory cannot record the head of a
 * log cut shorter than any head sealed before; a record that is not sealed with this platform's
 * key fails verification rather than being ignored, since ignoring it would let anyone switch
 * the check off. An older sealed record put back together with a log cut back to it passes: only
 * a head kept elsewhere (`anchor`) rules that out.
 */
export const verifyAudit = async ({ store, headFile: file, headKey, anchor }: AuditVerifyOptions): Promise<AuditVerification> => {
  if (store.verifyChain === undefined) {
    return {
      ok: false,
      checked: 0,
      firstBadPosition: null,
      reason:
        'this event store keeps no hash chain (EventStoreDB cannot edit events in place, but it cannot prove that either); ' +
        'use the SQLite or PostgreSQL store where the audit must be tamper-evident',
      head: null,
      since: null,
    };
  }
  const seen = file === undefined ? undefined : readHead(file, headKey);
  if (seen === 'forged') {
    return {
      ok: false,
      checked: 0,
      firstBadPosition: null,
      reason:
        `${file}, the head the last verification saw, is not sealed with this platform's key: it was edited or replaced. ` +
        'Restore it from a backup of the data directory, or compare the log with an archived copy, before trusting the log',
      head: null,
      since: null,
    };
  }
  const report = await store.verifyChain();
  const since = seen?.position ?? null;
  // The heads seen before must still be there, with their chain values: a log cut at its end,
  // even one that has grown again since, fails here.
  for (const head of [seen, anchor]) {
    if (!report.ok || head === undefined) continue;
    const checked = await store.verifyChain({ since: head });
    if (!checked.ok) return { ...summary(checked, report.checked), since };
  }
  if (report.ok && report.head !== null && file !== undefined) writeHead(file, report.head, headKey);
  return { ...summary(report, report.checked), since };
};

const summary = (report: ChainReport, checked: number) => ({
  ok: report.ok,
  checked,
  firstBadPosition: report.firstBadPosition,
  reason: report.reason,
  head: report.head,
});

const sealOf = (head: ChainHead, key: Buffer): Buffer =>
  createHmac('sha256', key).update(`qkmp audit head\n${head.position}\n${head.chain}`).digest();

/** Written whole or not at all (a rename), readable by the owner only. */
const writeHead = (file: string, head: ChainHead, key: Buffer): void => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // A temporary name of this writer's own: the server and `audit verify` may record at the same moment.
  const next = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.next`;
  const record = { position: head.position, chain: head.chain, seal: sealOf(head, key).toString('hex') };
  fs.writeFileSync(next, JSON.stringify(record), { mode: 0o600 });
  fs.renameSync(next, file);
};

/** The recorded head; undefined when none was recorded, 'forged' when the record does not carry this key's seal. */
const readHead = (file: string, key: Buffer): ChainHead | 'forged' | undefined => {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { position, chain, seal } = JSON.parse(text) as Record<string, unknown>;
    if (!Number.isSafeInteger(position) || typeof chain !== 'string' || !/^[0-9a-f]{64}$/.test(chain)) return 'forged';
    if (typeof seal !== 'string' || !/^[0-9a-f]{64}$/.test(seal)) return 'forged';
    const head = { position: position as number, chain };
    return timingSafeEqual(Buffer.from(seal, 'hex'), sealOf(head, key)) ? head : 'forged';
  } catch {
    return 'forged';
  }
};

const RUN_VERIFY = 'run: npm run qkmp -- audit verify';

export interface HeadKeeper {
  /** Verifies what was appended since the last step and records the new head; what a step found. */
  step(): Promise<ChainReport | undefined>;
  /** No more steps; resolves once a step under way has finished, so the store can close after it. */
  stop(): Promise<void>;
}

/**
 * Keeps the recorded head up with the log while the server runs: every `intervalMs`, verifies only
 * the events appended since the recorded head and records the new one. Events cut from the end of
 * the log then show at the next verification even when no one ran one in between, except those of
 * the last interval. It verifies from the newest head it has seen, so deleting the record, or
 * putting an older one back, while it runs hides no cut. A step that finds the chain broken
 * records nothing; what it finds, and a step that cannot finish (the store down, the head file not
 * writable), is told to `alert` once, until a step finds nothing wrong again. `audit verify` says the rest.
 */
export const keepHead = (
  { store, headFile: file, headKey }: AuditVerifyOptions,
  alert: (message: string) => void,
  intervalMs = 1000,
): HeadKeeper | undefined => {
  const verifyChain = store.verifyChain?.bind(store);
  if (verifyChain === undefined || file === undefined) return undefined;
  let told: string | undefined;
  const tell = (message: string | undefined): void => {
    if (message !== undefined && message !== told) alert(message);
    told = message;
  };
  /** The newest head this process verified: a record deleted or put back older cannot take it away. */
  let kept: ChainHead | undefined;
  const step = async (): Promise<ChainReport | undefined> => {
    const recorded = readHead(file, headKey);
    if (recorded === 'forged') {
      tell(`${file}, the head the last verification saw, is not sealed with this platform's key: ${RUN_VERIFY}`);
      return undefined;
    }
    const since = recorded === undefined || (kept !== undefined && kept.position > recorded.position) ? kept : recorded;
    const report = await verifyChain(since === undefined ? {} : { since });
    if (report.ok && report.head !== null) {
      kept = report.head;
      if (report.head.position !== recorded?.position || report.head.chain !== recorded.chain) writeHead(file, report.head, headKey);
    }
    tell(report.ok ? undefined : `audit chain broken at position ${report.firstBadPosition}: ${report.reason}; ${RUN_VERIFY}`);
    return report;
  };
  const periodic = periodically(intervalMs, () =>
    step().catch((error: unknown) => {
      const reason = error instanceof Error ? error.message : String(error);
      tell(`the audit head is not kept up with the log (${reason}): check that the event store answers and the data directory is writable`);
      return undefined;
    }),
  );
  return { step: periodic.once, stop: periodic.stop };
};
