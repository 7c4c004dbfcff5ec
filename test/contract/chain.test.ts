import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { AuditChain, canonical, ChainInput, ChainRow } from '../../infrastructure/event-store/chain';
import { chainKeyOf, describeChainContract, expectNoKey, expectOk } from './chain.contract';

describeChainContract('in-memory', async () => ({
  open: (chainKey) => new InMemoryEventStore({ chainKey }),
  destroy: async () => undefined,
}));

const input = (position: number, overrides: Partial<ChainInput> = {}): ChainInput => ({
  position,
  streamId: 'device-UKEY-000001',
  revision: position - 1,
  id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
  type: 'DeviceInitialized',
  data: `{"serial":"UKEY-000001","n":${position}}`,
  metadata: '{"actorId":"admin-1"}',
  ...overrides,
});

/** A log of `count` events sealed by `chain`, read through a reader that serves pages of it. */
const sealedLog = (chain: AuditChain, count: number): ChainRow[] => {
  const rows: ChainRow[] = [];
  for (let p = 1; p <= count; p++) {
    const event = input(p);
    const [sealed] = chain.seal({ previous: rows[p - 2]?.chain ?? null, streamId: event.streamId, position: p, revision: p - 1 }, [event]);
    rows.push({ ...event, chain: sealed });
  }
  return rows;
};

const readerOf = (rows: readonly ChainRow[]) => (after: number, limit: number) =>
  rows.filter((row) => row.position > after).slice(0, limit);

describe('the audit chain', () => {
  it('is HMAC-SHA256 over the previous value and the canonical event, from a keyed genesis value', () => {
    const key = chainKeyOf();
    const hmac = (...parts: (Buffer | string)[]) => parts.reduce((h, part) => h.update(part), createHmac('sha256', key)).digest();
    const [first, second] = [input(1), input(2)];
    const genesis = hmac('qkmp audit chain genesis');
    const expected1 = hmac(genesis, canonical(first));
    const expected2 = hmac(expected1, canonical(second));

    const sealed = new AuditChain(key).seal({ previous: null, streamId: first.streamId, position: 1, revision: 0 }, [first, second]);

    expect(sealed).toEqual([expected1, expected2]);
    expect(canonical(first)).toBe(
      '[1,"device-UKEY-000001",0,"00000000-0000-4000-8000-000000000001","DeviceInitialized",' +
        '{"serial":"UKEY-000001","n":1},{"actorId":"admin-1"}]',
    );
  });

  it('gives every event its own canonical form: it parses back into exactly the event', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 20 });
    fc.assert(
      fc.property(
        fc.nat(), text, fc.nat(), text, text, fc.jsonValue(), fc.jsonValue(),
        (position, streamId, revision, id, type, data, metadata) => {
          const event = { position, streamId, revision, id, type, data: JSON.stringify(data), metadata: JSON.stringify(metadata) };
          expect(JSON.parse(canonical(event))).toEqual([position, streamId, revision, id, type, JSON.parse(event.data), JSON.parse(event.metadata)]);
        },
      ),
    );
  });

  it('seals a batch the same as the same events appended one by one', () => {
    const chain = new AuditChain(chainKeyOf());
    const [a, b] = [input(1), input(2)];
    const [one] = chain.seal({ previous: null, streamId: a.streamId, position: 1, revision: 0 }, [a]);
    const [two] = chain.seal({ previous: one, streamId: b.streamId, position: 2, revision: 1 }, [b]);
    expect(chain.seal({ previous: null, streamId: a.streamId, position: 1, revision: 0 }, [a, b])).toEqual([one, two]);
  });

  it('verifies across page boundaries and finds a gap at the start of a page', async () => {
    const chain = new AuditChain(chainKeyOf());
    const rows = sealedLog(chain, 9);
    expectOk(await chain.verify(readerOf(rows), { pageSize: 3 }), 9);

    const report = await chain.verify(readerOf(rows.filter((row) => row.position !== 4)), { pageSize: 3 });
    expect(report).toMatchObject({ ok: false, checked: 3, firstBadPosition: 4, problem: 'missing', head: { position: 3 } });
    expect(report.head?.chain).toBe(rows[2].chain?.toString('hex'));
  });

  it('fails at the first event when the whole log was sealed with another key', async () => {
    const report = await new AuditChain(chainKeyOf()).verify(readerOf(sealedLog(new AuditChain(chainKeyOf()), 3)));
    expect(report).toMatchObject({ ok: false, checked: 0, firstBadPosition: 1, problem: 'edited', head: null });
  });

  it('checks the since head: present, unchanged, not deleted', async () => {
    const chain = new AuditChain(chainKeyOf());
    const rows = sealedLog(chain, 5);
    const since = { position: 3, chain: (rows[2].chain as Buffer).toString('hex') };

    expectOk(await chain.verify(readerOf(rows), { since }), 2);
    expect(await chain.verify(readerOf(rows.filter((row) => row.position !== 3)), { since })).toMatchObject({
      firstBadPosition: 3,
      problem: 'missing',
    });
    expect(await chain.verify(readerOf(rows.slice(0, 2)), { since })).toMatchObject({ firstBadPosition: 3, problem: 'truncated' });
    const other = { ...since, chain: (rows[1].chain as Buffer).toString('hex') };
    expect(await chain.verify(readerOf(rows), { since: other })).toMatchObject({ firstBadPosition: 3, problem: 'edited' });
  });

  it.each([
    ['a page size of 0', { pageSize: 0 }, /pageSize must be a whole number of 1 or more/],
    ['a fractional page size', { pageSize: 1.5 }, /pageSize must be a whole number/],
    ['a since position of 0', { since: { position: 0, chain: 'a'.repeat(64) } }, /since\.position must be a position/],
    ['a since chain that is not hex', { since: { position: 1, chain: 'z'.repeat(64) } }, /since\.chain must be 64 lowercase hex digits/],
  ])('refuses %s, naming the option', async (_, options, message) => {
    await expect(new AuditChain(chainKeyOf()).verify(readerOf([]), options)).rejects.toThrow(message);
  });

  it.each([
    ['a 16-byte key', Buffer.alloc(16, 7)],
    ['a string', 'k'.repeat(32) as unknown as Buffer],
  ])('refuses %s as the chain key without showing it', (_, key) => {
    const error = (() => {
      try {
        return new AuditChain(key);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe("chainKey must be 32 bytes: derive it with MasterKey.derive('audit-chain/v1')");
    if (Buffer.isBuffer(key)) expectNoKey((error as Error).message, key);
  });
});
