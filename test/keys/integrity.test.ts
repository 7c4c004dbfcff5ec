import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { openEntry, sealEntry } from '../../infrastructure/keys/envelope';
import { KeyVaultError } from '../../infrastructure/keys/key-vault-errors';
import { SqliteKeyVault } from '../../infrastructure/keys/sqlite-key-vault';
import { printedForms, rawConnection, rawEntries, tempDir, wrappingKey } from './support';

// Whoever can write the vault file but does not hold the wrapping key cannot make the vault hand out
// altered or displaced material: every such change fails with an error naming the range, never a byte.

const dir = tempDir('qkmp-vault-integrity-');
const CRYPTO_COLUMNS = ['key_iv', 'key_tag', 'wrapped_key', 'iv', 'tag', 'ciphertext'] as const;

/** Every secret a test used, and every error message it saw: checked at the end. */
const secrets: Buffer[] = [];
const messages: string[] = [];
const failure = async (operation: () => unknown): Promise<Error> => {
  try {
    await operation();
  } catch (error) {
    messages.push((error as Error).message, String(error), JSON.stringify(error));
    return error as Error;
  }
  throw new Error('expected the operation to fail');
};

let files = 0;
/** A vault file with two adjacent 64-byte blocks of 'bb84', and a raw connection to it. */
const vaultWithTwoBlocks = async () => {
  const file = path.join(dir(), `vault-${(files += 1)}.db`);
  const kek = wrappingKey();
  const vault = SqliteKeyVault.open(file, kek);
  const material = randomBytes(128);
  await vault.store('bb84', 0, material.subarray(0, 64));
  await vault.store('bb84', 64, material.subarray(64));
  secrets.push(kek, material);
  return { file, kek, vault, material, raw: rawConnection(file) };
};

const flipFirstByte = (value: Buffer): Buffer => {
  const changed = Buffer.from(value);
  changed[0] ^= 0x01;
  return changed;
};

const integrityError = (offset: number, length: number) =>
  expect.objectContaining({
    name: 'KeyVaultIntegrityError',
    sourceId: 'bb84',
    offset,
    length,
    message: expect.stringMatching(new RegExp(`entry of bb84 at \\[${offset}, ${offset + length}\\) does not decrypt`)),
  });

describe('a tampered vault', () => {
  it.each(CRYPTO_COLUMNS)('fails to read an entry whose %s was altered, naming its range', async (column) => {
    const { vault, material, raw } = await vaultWithTwoBlocks();
    const [first] = rawEntries(raw, 'bb84');
    raw.prepare(`UPDATE entries SET ${column} = ? WHERE source_id = 'bb84' AND offset = 0`).run(flipFirstByte(first[column]));

    expect(await failure(() => vault.read('bb84', 10, 20))).toEqual(integrityError(0, 64));
    expect(await vault.read('bb84', 64, 64)).toEqual(material.subarray(64));
    raw.close();
    await vault.close();
  });

  it.each([
    ['moved to another offset', 'UPDATE entries SET offset = 200 WHERE offset = 64', 'bb84', 200, 64],
    ['given to another source', "UPDATE entries SET source_id = 'kme-1' WHERE offset = 64", 'kme-1', 64, 64],
    ['shortened', 'UPDATE entries SET length = 32 WHERE offset = 64', 'bb84', 64, 32],
  ])('fails to read an entry %s', async (_how, update, sourceId, offset, length) => {
    const { vault, raw } = await vaultWithTwoBlocks();
    raw.exec(update);

    expect(await failure(() => vault.read(sourceId, offset, length))).toEqual(
      expect.objectContaining({ name: 'KeyVaultIntegrityError', sourceId, offset, length }),
    );
    raw.close();
    await vault.close();
  });

  it('fails to read two entries whose sealed columns were swapped', async () => {
    const { vault, raw } = await vaultWithTwoBlocks();
    const [first, second] = rawEntries(raw, 'bb84');
    const swap = raw.prepare(
      `UPDATE entries SET ${CRYPTO_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE source_id = 'bb84' AND offset = @offset`,
    );
    const columns = (entry: typeof first) => Object.fromEntries(CRYPTO_COLUMNS.map((c) => [c, entry[c]]));
    raw.transaction(() => {
      swap.run({ ...columns(second), offset: 0 });
      swap.run({ ...columns(first), offset: 64 });
    })();

    expect(await failure(() => vault.read('bb84', 0, 1))).toEqual(integrityError(0, 64));
    expect(await failure(() => vault.read('bb84', 64, 1))).toEqual(integrityError(64, 64));
    raw.close();
    await vault.close();
  });

  it('fails to read an entry copied from a vault sealed under another wrapping key', async () => {
    const { vault, raw } = await vaultWithTwoBlocks();
    const foreign = await vaultWithTwoBlocks();
    const [copied] = rawEntries(foreign.raw, 'bb84');
    raw.prepare(`UPDATE entries SET ${CRYPTO_COLUMNS.map((c) => `${c} = @${c}`).join(', ')} WHERE offset = 0`).run(
      Object.fromEntries(CRYPTO_COLUMNS.map((c) => [c, copied[c]])),
    );

    expect(await failure(() => vault.read('bb84', 0, 64))).toEqual(integrityError(0, 64));
    for (const v of [vault, foreign.vault]) await v.close();
    for (const r of [raw, foreign.raw]) r.close();
  });

  it('refuses to carve or destroy through an entry it cannot open, and changes nothing', async () => {
    const { vault, material, raw } = await vaultWithTwoBlocks();
    const [first] = rawEntries(raw, 'bb84');
    raw.prepare("UPDATE entries SET ciphertext = ? WHERE offset = 0").run(flipFirstByte(first.ciphertext));
    const before = rawEntries(raw, 'bb84');

    expect(await failure(() => vault.carve('bb84', 10, 100))).toEqual(integrityError(0, 64));
    expect(await failure(() => vault.destroy('bb84', 10, 100))).toEqual(integrityError(0, 64));
    expect(rawEntries(raw, 'bb84')).toEqual(before);
    expect(await vault.read('bb84', 64, 64)).toEqual(material.subarray(64));
    // Destroying the whole entry needs no split, so the damaged entry can still be shredded.
    await vault.destroy('bb84', 0, 64);
    expect(rawEntries(raw, 'bb84').map((e) => e.offset)).toEqual([64]);
    raw.close();
    await vault.close();
  });
});

describe('the wrapping key', () => {
  it('must be the one the vault was made with: another is refused at open', async () => {
    const { file, vault, raw } = await vaultWithTwoBlocks();
    raw.close();
    await vault.close();
    const other = wrappingKey();
    secrets.push(other);

    const refused = await failure(() => SqliteKeyVault.open(file, other));
    expect(refused).toBeInstanceOf(KeyVaultError);
    expect(refused.message).toMatch(/was sealed under another wrapping key/);
  });

  it('is not taken on trust when the key-check value was removed from a vault that holds entries', async () => {
    const { file, vault, raw } = await vaultWithTwoBlocks();
    raw.exec("DELETE FROM meta WHERE name = 'key-check'");
    raw.close();
    await vault.close();

    expect((await failure(() => SqliteKeyVault.open(file, wrappingKey()))).message).toMatch(/holds entries but its key-check value is gone/);
  });

  it('binds each sealed entry to its source, offset and length', () => {
    const kek = wrappingKey();
    const identity = { sourceId: 'bb84', offset: 4096, length: 32 };
    const material = randomBytes(32);
    const entry = sealEntry(kek, identity, material);

    expect(openEntry(kek, identity, entry)).toEqual(material);
    for (const moved of [{ sourceId: 'bb85' }, { offset: 4097 }, { length: 31 }]) {
      expect(openEntry(kek, { ...identity, ...moved }, entry)).toBeUndefined();
    }
    expect(openEntry(wrappingKey(), identity, entry)).toBeUndefined();
  });
});

// Runs last: it checks what the tests above collected.
describe('error messages', () => {
  it('never contain the wrapping key or any material, in any printed form', async () => {
    const vault = SqliteKeyVault.open(':memory:', wrappingKey());
    await failure(() => vault.read('bb84', 0, 16));
    await vault.close();

    expect(messages.length).toBeGreaterThan(20);
    expect(secrets.length).toBeGreaterThan(10);
    for (const message of messages) {
      for (const secret of secrets) {
        for (const form of printedForms(secret)) expect(message).not.toContain(form);
      }
    }
  });
});
