import * as E from 'fp-ts/Either';
import { saeKeysAggregate } from '../../domain/saekeys';
import { CALLERS, Platform } from './support/platform';

// chargeKeys: the kiosk's step 3.4 over GraphQL. Only the charger that started the charge gets its
// keys; they are real bytes from the vault, recorded by commitment only, and the device becomes
// their master SAE.

const CHARGE_KEYS = `mutation($input: ChargeKeysInput!) {
  chargeKeys(input: $input) { chargeId rangeId delivered remaining position keys { keyId key } }
}`;

let p: Platform;
beforeAll(async () => {
  p = await Platform.start({ limits: { rateLimit: { windowMs: 60_000, limit: 100_000 } } });
});
afterAll(() => p.close());

describe('chargeKeys', () => {
  it('hands the kiosk its verified charge in keys with key IDs, bar by bar, and records no key', async () => {
    const { chargeId, serial, sourceId } = await p.charge('VERIFIED');
    const progress: number[] = [];
    const keys: { keyId: string; key: string }[] = [];
    for (let remaining = 1024; remaining > 0; ) {
      const answer = await p.gql(CHARGE_KEYS, { input: { chargeId, bytes: Math.min(300, remaining) } }, 'CHARGER');
      expect(answer.body.errors).toBeUndefined();
      const delivered = answer.body.data!.chargeKeys;
      remaining = delivered.remaining;
      progress.push(delivered.delivered);
      keys.push(...delivered.keys);
    }
    expect(progress).toEqual([300, 600, 900, 1024]);
    expect(keys.map((k) => Buffer.from(k.key, 'base64').length).reduce((a, b) => a + b, 0)).toBe(1024);
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(keys.length);

    // The device is the master SAE of exactly these keys; the vault holds their bytes.
    const sae = await p.bus.load(saeKeysAggregate, serial);
    const held = E.isRight(sae) ? [...sae.right.state.keys.values()] : [];
    expect(held.map((k) => k.keyId).sort()).toEqual(keys.map((k) => k.keyId).sort());
    for (const k of held) expect((await p.keyPool.read(sourceId, k.offset, k.length)).toString('base64')).toBe(keys.find((x) => x.keyId === k.keyId)!.key);

    const log = JSON.stringify(await p.store.readAll());
    for (const { key } of keys) {
      expect(log).not.toContain(key);
      expect(log).not.toContain(Buffer.from(key, 'base64').toString('hex'));
    }
    const full = await p.gql(CHARGE_KEYS, { input: { chargeId, bytes: 1 } }, 'CHARGER');
    expect(full.body.errors?.[0].extensions?.code).toBe('INVALID_STATE');
    expect(full.body.errors?.[0].message).toMatch(/all 1024 bytes it asked for are delivered; complete it once the device has stored them/);
  });

  it('refuses every role but the charging kiosk, and no token at all, changing nothing but the audit', async () => {
    const { chargeId } = await p.charge('VERIFIED');
    for (const caller of CALLERS.filter((c) => c !== 'CHARGER')) {
      const before = await p.head();
      const answer = await p.gql(CHARGE_KEYS, { input: { chargeId, bytes: 32 } }, caller);
      expect(answer.body.errors?.[0].extensions?.code).toBe(caller === null ? 'UNAUTHENTICATED' : 'FORBIDDEN');
      const written = await p.store.readAll({ after: before });
      expect(written.map((e) => e.type)).toEqual(['AccessDenied']);
      // Without a token, the request is refused before its operation is read.
      expect(written[0].data).toMatchObject({ operation: caller === null ? 'authenticate' : 'ReserveKeyRange', role: caller });
    }
  });

  it('refuses another charger\'s charge as FORBIDDEN whatever the input, telling nothing of its state, and audits the attempt', async () => {
    const chargeId = p.newId('charge');
    const [serial, sourceId, chargerId] = [await p.device('ACTIVE'), await p.pool(), await p.charger()];
    await p.system('StartCharge', { chargeId, deviceSerial: serial, chargerId, sourceId, bytes: 64 });
    const attempts: [string, string, Record<string, unknown>][] = [
      ['ReserveKeyRange', CHARGE_KEYS, { input: { chargeId, bytes: 0 } }],
      ['ReserveKeyRange', CHARGE_KEYS, { input: { chargeId, bytes: 32 } }],
      ['FailCharge', `mutation($input: FailChargeInput!) { failCharge(input: $input) { position } }`, { input: { commandId: p.newId('cmd'), chargeId, reason: '' } }],
    ];
    for (const [operation, query, variables] of attempts) {
      const before = await p.head();
      const answer = await p.gql(query, variables, 'CHARGER');
      expect(answer.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
      expect(answer.body.errors?.[0].message).not.toMatch(/STARTED|64/);
      const written = await p.store.readAll({ after: before });
      expect(written.map((e) => [e.type, (e.data as { operation: string }).operation])).toEqual([['AccessDenied', operation]]);
    }
  });

  it('hands out at most 64 KiB a call, so no answer holds a whole pool, and reserves nothing past it', async () => {
    const [chargeId, serial, sourceId] = [p.newId('charge'), await p.device('ACTIVE'), await p.pool()];
    await p.system('StartCharge', { chargeId, deviceSerial: serial, chargerId: p.kiosk, sourceId, bytes: 1024 * 1024 });
    await p.system('RecordChargeDeviceVerification', { chargeId, verified: true, method: 'CERTIFICATE' });
    const before = await p.head();
    const answer = await p.gql(CHARGE_KEYS, { input: { chargeId, bytes: 64 * 1024 + 1 } }, 'CHARGER');
    expect(answer.body.errors?.[0]).toMatchObject({
      message: 'bytes: must be a whole number from 1 to 65536, at most 65536 a call; call again for the rest',
      extensions: { code: 'INVALID_INPUT' },
    });
    expect(await p.store.readAll({ after: before })).toEqual([]);
  });

  it('refuses a charge whose device is not verified yet, and reserves nothing', async () => {
    const { chargeId } = await p.charge('STARTED');
    const before = await p.head();
    const answer = await p.gql(CHARGE_KEYS, { input: { chargeId, bytes: 32 } }, 'CHARGER');
    expect(answer.body.errors?.[0].extensions?.code).toBe('INVALID_STATE');
    expect(answer.body.errors?.[0].message).toMatch(/verify the device first/);
    expect(await p.store.readAll({ after: before })).toEqual([]);
  });
});
