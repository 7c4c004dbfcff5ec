import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { AuditVerifyOptions, keepHead, verifyAudit } from '../../infrastructure/audit-verify';
import { SqliteEventStore } from '../../infrastructure/event-store/sqlite';
import { chainKeyOf, newEvent } from './chain.contract';

// The server keeps the recorded head up with the log, so cutting the log's end shows at the next
// verification although no one ran one before the cut.

describe('the head a running server keeps', () => {
  let dir: string;
  let store: SqliteEventStore;
  let options: AuditVerifyOptions;
  const file = () => path.join(dir, 'qkmp.db');
  const cutFrom = (position: number) => {
    const db = new Database(file());
    db.prepare('DELETE FROM events WHERE position >= ?').run(position);
    db.close();
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qkmp-head-keeper-'));
    store = new SqliteEventStore(file(), { chainKey: chainKeyOf() });
    options = { store, headFile: path.join(dir, 'audit-head.json'), headKey: randomBytes(32) };
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('given a keeper that stepped after each append, when the end is cut and the log grows back, then verification fails where the kept head stood', async () => {
    await store.append('device-A', [newEvent(), newEvent()], 'no_stream');
    const keeper = keepHead(options, () => undefined, 60_000)!;
    try {
      expect((await keeper.step())?.head?.position).toBe(2);
      await store.append('device-A', [newEvent(), newEvent()], 1);
      expect((await keeper.step())?.head?.position).toBe(4);
    } finally {
      keeper.stop();
    }
    cutFrom(3);
    await store.append('device-B', [newEvent()], 'no_stream'); // the log grows back, sealed by the platform

    const verified = await verifyAudit(options);
    // The head at 4 is gone; the event now at 3 chains onto 2, so the first thing found missing is 4.
    expect(verified).toMatchObject({ ok: false, firstBadPosition: 4, since: 4 });
  });

  it('given a broken chain, when it steps again and again, then it records nothing and tells once per first bad position', async () => {
    await store.append('device-A', [newEvent(), newEvent(), newEvent()], 'no_stream');
    const told: string[] = [];
    const keeper = keepHead(options, (reason) => told.push(reason), 60_000)!;
    try {
      await keeper.step();
      const recorded = fs.readFileSync(options.headFile!, 'utf8');
      cutFrom(3);
      await store.append('device-B', [newEvent()], 'no_stream');
      expect(await keeper.step()).toMatchObject({ ok: false, firstBadPosition: 3 });
      await keeper.step();
      expect(told).toEqual([expect.stringMatching(/^audit chain broken at position 3: /)]);
      expect(fs.readFileSync(options.headFile!, 'utf8')).toBe(recorded);
    } finally {
      keeper.stop();
    }
  });

  it('given a head file it cannot write, when it steps again and again, then it tells once', async () => {
    await store.append('device-A', [newEvent()], 'no_stream');
    fs.writeFileSync(path.join(dir, 'not-a-folder'), '');
    const told: string[] = [];
    const keeper = keepHead({ ...options, headFile: path.join(dir, 'not-a-folder', 'audit-head.json') }, (message) => told.push(message), 60_000)!;
    try {
      expect(await keeper.step()).toBeUndefined();
      await keeper.step();
      expect(told).toEqual([expect.stringMatching(/^the audit head is not kept up with the log \(.*ENOTDIR.*\): check that .* the data directory is writable$/)]);
    } finally {
      keeper.stop();
    }
  });

  it('given the record deleted and the end cut while it runs, when it steps, then it tells and records no head of the cut log', async () => {
    await store.append('device-A', [newEvent(), newEvent(), newEvent()], 'no_stream');
    const told: string[] = [];
    const keeper = keepHead(options, (message) => told.push(message), 60_000)!;
    try {
      expect((await keeper.step())?.head?.position).toBe(3);
      fs.rmSync(options.headFile!);
      cutFrom(3);
      await store.append('device-B', [newEvent()], 'no_stream');
      expect(await keeper.step()).toMatchObject({ ok: false, firstBadPosition: 3 });
      await keeper.step();
      expect(told).toEqual([expect.stringMatching(/^audit chain broken at position 3: /)]);
      expect(fs.existsSync(options.headFile!)).toBe(false);
    } finally {
      keeper.stop();
    }
  });

  it('keeps no head for a log in memory, which is gone at exit', () => {
    expect(keepHead({ ...options, headFile: undefined }, () => undefined)).toBeUndefined();
  });
});
