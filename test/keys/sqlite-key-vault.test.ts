import * as fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { KeyMaterialMissingError } from '../../application/ports/key-vault';
import { KeyVaultError } from '../../infrastructure/keys/key-vault-errors';
import { SqliteKeyVault } from '../../infrastructure/keys/sqlite-key-vault';
import { rawConnection, rawEntries, tempDir, wrappingKey } from './support';

const dir = tempDir('qkmp-vault-');

const missing = (sourceId: string, offset: number, length: number) =>
  expect.objectContaining({ name: 'KeyMaterialMissingError', sourceId, offset, length });

describe('the SQLite key vault', () => {
  let vault: SqliteKeyVault;
  beforeEach(() => {
    vault = SqliteKeyVault.open(':memory:', wrappingKey());
  });
  afterEach(() => vault.close());

  it('reads back what it stored, within a block and across adjacent blocks', async () => {
    const material = randomBytes(300);
    await vault.store('bb84', 0, material.subarray(0, 100));
    await vault.store('bb84', 100, material.subarray(100, 250));
    await vault.store('bb84', 250, material.subarray(250));

    expect(await vault.read('bb84', 0, 300)).toEqual(material);
    expect(await vault.read('bb84', 10, 20)).toEqual(material.subarray(10, 30));
    expect(await vault.read('bb84', 90, 200)).toEqual(material.subarray(90, 290));
    expect(await vault.read('bb84', 100, 150)).toEqual(material.subarray(100, 250));
    expect(await vault.read('bb84', 299, 1)).toEqual(material.subarray(299));
    expect(await vault.read('bb84', 300, 0)).toEqual(Buffer.alloc(0));
    expect(await vault.held('bb84')).toBe(300);
  });

  it('keeps sources apart', async () => {
    const [a, b] = [randomBytes(64), randomBytes(64)];
    await vault.store('link-a', 0, a);
    await vault.store('link-b', 0, b);
    await vault.destroy('link-a', 0, 64);

    expect(await vault.read('link-b', 0, 64)).toEqual(b);
    await expect(vault.read('link-a', 0, 1)).rejects.toEqual(missing('link-a', 0, 1));
    expect([await vault.held('link-a'), await vault.held('link-b'), await vault.held('never')]).toEqual([0, 64, 0]);
  });

  it('says which range is missing when any byte of it is not held, before and after the blocks and in a gap', async () => {
    const material = randomBytes(200);
    await vault.store('bb84', 100, material);
    await vault.destroy('bb84', 150, 10);

    await expect(vault.read('bb84', 90, 20)).rejects.toEqual(missing('bb84', 90, 20));
    await expect(vault.read('bb84', 290, 20)).rejects.toEqual(missing('bb84', 290, 20));
    await expect(vault.read('bb84', 140, 30)).rejects.toEqual(missing('bb84', 140, 30));
    await expect(vault.read('bb84', 155, 1)).rejects.toBeInstanceOf(KeyMaterialMissingError);
    expect(await vault.read('bb84', 100, 50)).toEqual(material.subarray(0, 50));
    expect(await vault.read('bb84', 160, 140)).toEqual(material.subarray(60));
  });

  it('destroys a range spanning several blocks, keeping the bytes on either side, and destroying again changes nothing', async () => {
    const material = randomBytes(90);
    for (const start of [0, 30, 60]) await vault.store('bb84', start, material.subarray(start, start + 30));
    await vault.destroy('bb84', 20, 50);
    await vault.destroy('bb84', 20, 50);
    await vault.destroy('bb84', 500, 10);

    expect(await vault.read('bb84', 0, 20)).toEqual(material.subarray(0, 20));
    expect(await vault.read('bb84', 70, 20)).toEqual(material.subarray(70));
    await expect(vault.read('bb84', 19, 2)).rejects.toEqual(missing('bb84', 19, 2));
    expect(await vault.held('bb84')).toBe(40);

    // Whether any byte of a range is held: the shredded middle holds none, its edges do.
    expect(await vault.holdsAny('bb84', 20, 50)).toBe(false);
    expect(await vault.holdsAny('bb84', 25, 10)).toBe(false);
    expect(await vault.holdsAny('bb84', 19, 2)).toBe(true);
    expect(await vault.holdsAny('bb84', 69, 2)).toBe(true);
    expect(await vault.holdsAny('bb84', 0, 90)).toBe(true);
    expect(await vault.holdsAny('bb84', 90, 10)).toBe(false);
    expect(await vault.holdsAny('other', 0, 90)).toBe(false);
  });

  it('discards everything at or after an offset, splitting the block that straddles it', async () => {
    const material = randomBytes(90);
    for (const start of [0, 30, 60]) await vault.store('bb84', start, material.subarray(start, start + 30));
    await vault.discardFrom('bb84', 45);
    await vault.discardFrom('bb84', 45);

    expect(await vault.read('bb84', 0, 45)).toEqual(material.subarray(0, 45));
    await expect(vault.read('bb84', 45, 1)).rejects.toEqual(missing('bb84', 45, 1));
    expect(await vault.held('bb84')).toBe(45);
  });

  it('shreds what an unlogged ingestion left at or after the offset before storing a block', async () => {
    const orphan = randomBytes(100);
    await vault.store('bb84', 0, orphan);
    const block = randomBytes(40);
    await vault.store('bb84', 20, block);

    expect(await vault.read('bb84', 0, 60)).toEqual(Buffer.concat([orphan.subarray(0, 20), block]));
    await expect(vault.read('bb84', 60, 1)).rejects.toEqual(missing('bb84', 60, 1));
    expect(await vault.held('bb84')).toBe(60);
  });

  it('refuses ranges that are not ranges, an empty block, an empty source id and a wrapping key of the wrong size', async () => {
    await expect(vault.store('bb84', 0, new Uint8Array(0))).rejects.toThrow(RangeError);
    await expect(vault.store('bb84', -1, randomBytes(4))).rejects.toThrow(RangeError);
    await expect(vault.read('bb84', 1.5, 4)).rejects.toThrow(RangeError);
    await expect(vault.carve('bb84', 0, -4)).rejects.toThrow(RangeError);
    await expect(vault.destroy('bb84', Number.MAX_SAFE_INTEGER, 2)).rejects.toThrow(RangeError);
    await expect(vault.discardFrom('', 0)).rejects.toThrow(RangeError);
    expect(() => SqliteKeyVault.open(':memory:', randomBytes(16))).toThrow(KeyVaultError);
  });
});

describe('carve, destroy, discardFrom and store against a model (a byte array and a held mask per source)', () => {
  const SIZE = 48;
  const SOURCES = ['link-a', 'link-b'] as const;
  type Op =
    | { readonly kind: 'store'; readonly source: number; readonly offset: number; readonly material: Uint8Array }
    | { readonly kind: 'carve' | 'destroy' | 'read'; readonly source: number; readonly offset: number; readonly length: number }
    | { readonly kind: 'discardFrom'; readonly source: number; readonly offset: number };

  const source = fc.nat(SOURCES.length - 1);
  const offset = fc.nat(SIZE - 1);
  const length = fc.nat(16);
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('store' as const), source, offset, material: fc.uint8Array({ minLength: 1, maxLength: 16 }) }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constantFrom('carve' as const, 'destroy' as const, 'read' as const), source, offset, length }), weight: 6 },
    fc.record({ kind: fc.constant('discardFrom' as const), source, offset }),
  );

  class Model {
    readonly bytes = new Uint8Array(SIZE + 16);
    readonly held = new Array<boolean>(SIZE + 16).fill(false);
    unhold(from: number, to: number): void {
      for (let i = from; i < to; i++) this.held[i] = false;
    }
    holds(from: number, to: number): boolean {
      return this.held.slice(from, to).every(Boolean);
    }
    count(): number {
      return this.held.filter(Boolean).length;
    }
    /** The maximal runs of held bytes, as [from, to). */
    runs(): [number, number][] {
      const runs: [number, number][] = [];
      this.held.forEach((held, b) => {
        if (!held) return;
        const last = runs[runs.length - 1];
        if (last?.[1] === b) last[1] = b + 1;
        else runs.push([b, b + 1]);
      });
      return runs;
    }
  }

  it('holds exactly the modelled bytes, in entries that never overlap, cut where a carve asked', async () => {
    const file = path.join(dir(), 'model.db');
    const vault = SqliteKeyVault.open(file, wrappingKey());
    const raw = rawConnection(file);
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
          run += 1;
          const id = (i: number) => `run-${run}-${SOURCES[i]}`;
          const models = SOURCES.map(() => new Model());
          for (const o of ops) {
            const model = models[o.source];
            const sourceId = id(o.source);
            if (o.kind === 'store') {
              await vault.store(sourceId, o.offset, o.material);
              model.unhold(o.offset, model.held.length);
              model.bytes.set(o.material, o.offset);
              for (let i = 0; i < o.material.length; i++) model.held[o.offset + i] = true;
            } else if (o.kind === 'discardFrom') {
              await vault.discardFrom(sourceId, o.offset);
              model.unhold(o.offset, model.held.length);
            } else if (o.kind === 'destroy') {
              await vault.destroy(sourceId, o.offset, o.length);
              model.unhold(o.offset, o.offset + o.length);
            } else if (o.kind === 'carve') {
              await vault.carve(sourceId, o.offset, o.length);
              if (o.length > 0) {
                for (const entry of rawEntries(raw, sourceId)) {
                  for (const cut of [o.offset, o.offset + o.length]) {
                    expect(entry.offset < cut && cut < entry.offset + entry.length).toBe(false);
                  }
                }
              }
            } else {
              const read = vault.read(sourceId, o.offset, o.length);
              if (model.holds(o.offset, o.offset + o.length)) {
                expect(await read).toEqual(Buffer.from(model.bytes.subarray(o.offset, o.offset + o.length)));
              } else {
                await expect(read).rejects.toEqual(missing(sourceId, o.offset, o.length));
              }
            }
            for (const [i, m] of models.entries()) {
              expect(await vault.held(id(i))).toBe(m.count());
              // The rows cover exactly the held bytes, each byte once.
              const covered = new Array<boolean>(m.held.length).fill(false);
              for (const entry of rawEntries(raw, id(i))) {
                for (let b = entry.offset; b < entry.offset + entry.length; b++) {
                  expect(covered[b]).toBe(false);
                  covered[b] = true;
                }
              }
              expect(covered).toEqual(m.held);
            }
          }
          // Every held byte reads back as modelled, alone and in its whole run; a run read one byte
          // longer on either side, or together with the next run across the gap, is missing.
          for (const [i, m] of models.entries()) {
            const runs = m.runs();
            for (const [k, [from, to]] of runs.entries()) {
              for (let b = from; b < to; b++) expect(await vault.read(id(i), b, 1)).toEqual(Buffer.from([m.bytes[b]]));
              expect(await vault.read(id(i), from, to - from)).toEqual(Buffer.from(m.bytes.subarray(from, to)));
              const longer: [number, number][] = [[from, to + 1], [from - 1, to], ...(k + 1 < runs.length ? [[from, runs[k + 1][1]] as [number, number]] : [])];
              for (const [a, b] of longer.filter(([a]) => a >= 0)) {
                await expect(vault.read(id(i), a, b - a)).rejects.toEqual(missing(id(i), a, b - a));
              }
            }
          }
        }),
        { numRuns: 60 },
      );
    } finally {
      raw.close();
      await vault.close();
    }
  });
});
