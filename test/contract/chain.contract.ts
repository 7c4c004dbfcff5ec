import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { ChainReport, EventStore, NewEvent, RecordedEvent, VerifyChainOptions } from '../../application/ports/event-store';
import { AuditChain, ChainKeyMissingError, ChainRow, ReadChainPage } from '../../infrastructure/event-store/chain';
import { MasterKey } from '../../infrastructure/keys/master-key';
import { sampleEvent } from '../support/events';

/** Direct access to a store's storage, as someone who can write the database but has no key. */
export interface ChainTamper {
  row(position: number): Promise<ChainRow>;
  setData(position: number, data: string): Promise<void>;
  setChain(position: number, chain: Buffer | null): Promise<void>;
  deleteRow(position: number): Promise<void>;
  /** Whether any byte the storage holds contains one of the needles. */
  holdsAny(needles: readonly Buffer[]): Promise<boolean>;
}

/** A fresh, empty storage; open() gives stores on it (another process, when called again). */
export interface ChainStorage {
  open(chainKey?: Buffer): EventStore;
  /** Undefined where nothing outside the store can reach its events (in memory). */
  readonly tamper?: ChainTamper;
  destroy(): Promise<void>;
}

export const chainKeyOf = (): Buffer => MasterKey.fromBytes(randomBytes(32)).derive('audit-chain/v1');

/** Every form the key could be written in: encodings, util.inspect's `<Buffer 0a 1b ...>`, JSON's byte list. */
export const keyForms = (key: Buffer): string[] => [
  key.toString('hex'),
  key.toString('hex').toUpperCase(),
  key.toString('base64'),
  key.toString('base64url'),
  key.toString('hex').replace(/(..)(?!$)/g, '$1 '),
  key.join(','),
];

export const expectNoKey = (text: string, key: Buffer): void => {
  for (const form of keyForms(key)) expect(text).not.toContain(form);
  expect(Buffer.from(text, 'latin1').indexOf(key)).toBe(-1);
};

export const newEvent = (data: unknown = { serial: 'UKEY-000001', bytes: 4096 }): NewEvent =>
  sampleEvent({ type: 'ChainChecked', data });

/** Eight events in single appends and batches over three streams, at positions 1..8. */
export const seed = async (store: EventStore): Promise<RecordedEvent[]> => {
  await store.append('device-A', [newEvent(), newEvent()], 'no_stream');
  await store.append('device-B', [newEvent({ tricky: 'quote " backslash \\ 量子 🔑', n: [1.5, -0, 1e21] })], 'no_stream');
  await store.append('device-A', [newEvent()], 1);
  await store.append('charger-1', [newEvent(), newEvent(), newEvent()], 'any');
  await store.append('device-B', [newEvent()], 'stream_exists');
  return store.readAll();
};

/**
 * Records the pages an adapter hands the verifier, so a test can see that it reads in pages and
 * never holds more than one.
 */
export const recordPages = (): { sizes: number[]; limits: number[]; restore: () => void } => {
  const original = AuditChain.prototype.verify;
  const sizes: number[] = [];
  const limits: number[] = [];
  const spy = jest.spyOn(AuditChain.prototype, 'verify').mockImplementation(function (this: AuditChain, read, options) {
    const recording: ReadChainPage = async (after, limit) => {
      const page = await read(after, limit);
      limits.push(limit);
      sizes.push(page.length);
      return page;
    };
    return original.call(this, recording, options);
  });
  return { sizes, limits, restore: () => spy.mockRestore() };
};

/** Appends `count` events in batches of up to 100. */
export const appendMany = async (store: EventStore, count: number): Promise<void> => {
  const stream = `bulk-${randomUUID()}`;
  for (let done = 0; done < count; done += 100) {
    const batch = Array.from({ length: Math.min(100, count - done) }, (_, i) => newEvent({ i: done + i }));
    await store.append(stream, batch, done === 0 ? 'no_stream' : done - 1);
  }
};

/** The store's verifyChain, which every store under this contract has. */
export const verifyOf = (store: EventStore, options?: VerifyChainOptions): Promise<ChainReport> => {
  if (store.verifyChain === undefined) throw new Error('this store has no verifyChain');
  return store.verifyChain(options);
};

export const expectOk = (report: ChainReport, checked: number): void => {
  expect(report).toEqual({
    ok: true,
    checked,
    firstBadPosition: null,
    problem: null,
    reason: null,
    head: checked === 0 ? null : { position: expect.any(Number), chain: expect.stringMatching(/^[0-9a-f]{64}$/) },
  });
};

/** The tamper evidence every sealing store must show. */
export const describeChainContract = (name: string, fresh: () => Promise<ChainStorage>): void => {
  describe(`${name} audit chain`, () => {
    let storage: ChainStorage;
    let key: Buffer;
    let store: EventStore;
    beforeEach(async () => {
      storage = await fresh();
      key = chainKeyOf();
      store = storage.open(key);
    });
    afterEach(async () => {
      await store.close();
      await storage.destroy();
    });

    const verify = (options?: VerifyChainOptions): Promise<ChainReport> => verifyOf(store, options);

    it('verifies an empty log and a log of single appends and batches over several streams', async () => {
      expectOk(await verify(), 0);
      const events = await seed(store);

      const report = await verify();

      expectOk(report, events.length);
      expect(report.head?.position).toBe(events[events.length - 1].position);
    });

    it('keeps the chain whole under concurrent appends', async () => {
      await Promise.all(
        Array.from({ length: 8 }, async (_, writer) => {
          for (let revision = 0; revision < 10; revision++) {
            await store.append(`writer-${writer}`, [newEvent()], revision === 0 ? 'no_stream' : revision - 1);
          }
        }),
      );
      expectOk(await verify(), 80);
    });

    it('verifies incrementally from the head of an earlier report', async () => {
      await seed(store);
      const earlier = await verify();
      await store.append('device-C', [newEvent(), newEvent()], 'no_stream');

      const later = await verify({ since: earlier.head ?? undefined });

      expectOk(later, 2);
      expect(later.head?.position).toBe((earlier.head?.position ?? 0) + 2);
      expect(later.head).toEqual((await verify()).head);
    });

    it('reads a large log one bounded page at a time', async () => {
      await appendMany(store, 5_000);
      const pages = recordPages();
      try {
        expectOk(await verify({ pageSize: 300 }), 5_000);
      } finally {
        pages.restore();
      }
      expect(Math.max(...pages.limits)).toBe(300);
      expect(Math.max(...pages.sizes)).toBe(300);
      expect(pages.sizes.reduce((sum, size) => sum + size, 0)).toBe(5_000);
      expect(pages.sizes).toHaveLength(Math.ceil(5_000 / 300));
    });

    it('refuses to verify without the chain key, and shows the key nowhere', async () => {
      const keyless = storage.open();
      const logged: string[] = [];
      const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
        jest.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(inspect(args))),
      );
      try {
        await seed(store);
        const errors = await Promise.all([
          keyless.verifyChain?.().catch((e: unknown) => e),
          store.append('device-A', [newEvent()], 'no_stream').catch((e: unknown) => e),
          store.verifyChain?.({ pageSize: 0 }).catch((e: unknown) => e),
          Promise.resolve().then(() => storage.open(key.subarray(0, 16))).catch((e: unknown) => e),
        ]);
        expect(errors[0]).toBeInstanceOf(ChainKeyMissingError);
        expect((errors[0] as Error).message).toMatch(/opened without the audit chain key.*'audit-chain\/v1'/);
        expect((errors[3] as Error).message).toMatch(/chainKey must be 32 bytes/);
        for (const error of errors) {
          expect(error).toBeInstanceOf(Error);
          expectNoKey(`${(error as Error).message}\n${(error as Error).stack}`, key);
        }
        expectNoKey(inspect(store, { depth: Infinity, showHidden: true }), key);
        expectNoKey(logged.join('\n'), key);
        if (storage.tamper) expect(await storage.tamper.holdsAny([key, ...keyForms(key).map((form) => Buffer.from(form))])).toBe(false);
      } finally {
        spies.forEach((spy) => spy.mockRestore());
        await keyless.close();
      }
    });
  });
};

/** Tampering directly in the database, as someone without the key. */
export const describeChainTamperContract = (name: string, fresh: () => Promise<ChainStorage>): void => {
  describe(`${name} audit chain under tampering`, () => {
    let storage: ChainStorage;
    let tamper: ChainTamper;
    let key: Buffer;
    let store: EventStore;
    let events: RecordedEvent[];
    beforeEach(async () => {
      storage = await fresh();
      if (storage.tamper === undefined) throw new Error(`${name} storage cannot be tampered with`);
      tamper = storage.tamper;
      key = chainKeyOf();
      store = storage.open(key);
      events = await seed(store);
    });
    afterEach(async () => {
      await store.close();
      await storage.destroy();
    });

    const verify = (options?: VerifyChainOptions): Promise<ChainReport> => verifyOf(store, options);

    const expectBad = (report: ChainReport, position: number, problem: ChainReport['problem'], reason: RegExp, checked = position - 1) => {
      expect(report).toMatchObject({ ok: false, firstBadPosition: position, problem, checked });
      expect(report.reason).toMatch(reason);
    };

    /** Rewrites the rows from `position` on with new data and chains sealed by `sealer`, as a forger would. */
    const forge = async (sealer: AuditChain, position: number, data: string): Promise<void> => {
      let previous = (await tamper.row(position - 1)).chain;
      for (let p = position; p <= events.length; p++) {
        const row = await tamper.row(p);
        const edited = { ...row, data: p === position ? data : row.data };
        const [chain] = sealer.seal({ previous, streamId: row.streamId, position: p, revision: row.revision }, [edited]);
        if (p === position) await tamper.setData(p, data);
        await tamper.setChain(p, chain);
        previous = chain;
      }
    };

    it('reports an edited event at its position', async () => {
      await tamper.setData(5, '{"serial":"UKEY-999999","bytes":4096}');
      expectBad(await verify(), 5, 'edited', /position 5 does not match its chain value: it was changed/);
    });

    it('reports an edit that keeps the JSON value (key order, spacing), as the stored text is sealed', async () => {
      const { data } = await tamper.row(3);
      const reordered = JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(data) as object).reverse()));
      expect(reordered).not.toBe(data);
      await tamper.setData(3, reordered);
      expectBad(await verify(), 3, 'edited', /position 3/);

      await tamper.setData(3, data);
      expectOk(await verify(), events.length);
      await tamper.setData(3, ` ${data}`);
      expectBad(await verify(), 3, 'edited', /position 3/);
    });

    it('reports a deleted event at its position', async () => {
      await tamper.deleteRow(4);
      expectBad(await verify(), 4, 'missing', /jumps from position 3 to 5: position 4 was deleted/);
    });

    it('reports deleted events at the start of the log', async () => {
      await tamper.deleteRow(1);
      await tamper.deleteRow(2);
      expectBad(await verify(), 1, 'missing', /log starts at position 3: positions 1 to 2 were deleted/);
    });

    it('reports an event resealed with a wrong key, though every later event was resealed too', async () => {
      await forge(new AuditChain(chainKeyOf()), 6, '{"serial":"UKEY-666666","bytes":1}');
      expectBad(await verify(), 6, 'edited', /position 6 does not match its chain value/);
    });

    it('accepts the same forgery made with the right key, so the key is all that stops it', async () => {
      await forge(new AuditChain(key), 6, '{"serial":"UKEY-666666","bytes":1}');
      expectOk(await verify(), events.length);
    });

    it('reports an erased chain value as unsealed', async () => {
      await tamper.setChain(7, null);
      expectBad(await verify(), 7, 'unsealed', /position 7 has no chain value/);
    });

    it('reports events written without the key as unsealed', async () => {
      const keyless = storage.open();
      try {
        await keyless.append('device-Z', [newEvent()], 'no_stream');
      } finally {
        await keyless.close();
      }
      await store.append('device-Z', [newEvent()], 0);
      expectBad(await verify(), events.length + 1, 'unsealed', /written without the audit chain key/);
    });

    it('keeps the chain whole when another process appends to the same storage', async () => {
      const other = storage.open(key);
      try {
        await other.append('device-A', [newEvent()], 2);
        await store.append('device-A', [newEvent()], 3);
        await Promise.all([
          other.append('device-B', [newEvent(), newEvent()], 'any'),
          store.append('device-C', [newEvent()], 'no_stream'),
          other.append('device-D', [newEvent()], 'no_stream'),
          store.append('device-B', [newEvent()], 'stream_exists'),
        ]);
        await store.append('device-A', [newEvent()], 4);
        expectOk(await verify(), events.length + 8);
        expectOk(await verifyOf(other), events.length + 8);
      } finally {
        await other.close();
      }
    });

    it('does not see a cut end on its own, but does against the head of an earlier report', async () => {
      const earlier = await verify();
      await tamper.deleteRow(events.length);

      expectOk(await verify(), events.length - 1);
      expectBad(await verify({ since: earlier.head ?? undefined }), events.length, 'truncated', /log ends before position 8.*deleted from its end/, 0);

      // Writing on from the cut end seals the new event correctly; only the earlier head shows the rewrite.
      await store.append('device-Y', [newEvent()], 'no_stream');
      expectOk(await verify(), events.length);
      expectBad(await verify({ since: earlier.head ?? undefined }), events.length, 'edited', /no longer has the chain value/, 0);
    });
  });
};
