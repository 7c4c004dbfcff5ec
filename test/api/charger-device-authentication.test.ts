import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { createPrincipal } from '../../application/access';
import { deviceAggregate, DeviceState } from '../../domain/device';
import { GOLDEN, mutationDocument } from './support/fixtures';
import { Platform } from './support/platform';

// A kiosk reports the PIN check of the device it is charging, and of no other; a revoked kiosk
// reports nothing. Through the API with real tokens: a refusal is FORBIDDEN, leaves the device as it
// was, and writes only its AccessDenied.

let p: Platform;
beforeAll(async () => {
  p = await Platform.start({ limits: { rateLimit: { windowMs: 60_000, limit: 100_000 } } });
});
afterAll(() => p.close());

const FAILURE = 'RecordDeviceAuthenticationFailure';
const AUTHENTICATED = 'RecordDeviceAuthenticated';

type Caller = Parameters<Platform['gql']>[2];

const send = async (type: string, data: Record<string, unknown>, caller: Caller) => {
  const answer = await p.gql(mutationDocument(type), { input: { ...data, commandId: randomUUID() } }, caller);
  return answer.body.errors?.[0] ?? 'ok';
};

const deviceState = async (serial: string): Promise<DeviceState> => {
  const loaded = await p.bus.load(deviceAggregate, serial);
  if (E.isLeft(loaded)) throw new Error(loaded.left.message);
  return loaded.right.state;
};

/** Sends the request, expects FORBIDDEN, and that it wrote nothing but one AccessDenied for this operation. */
const expectForbidden = async (type: string, data: Record<string, unknown>, caller: Caller, message: RegExp) => {
  const before = await p.head();
  const refused = await send(type, data, caller);
  expect(refused).toMatchObject({ extensions: { code: 'FORBIDDEN' }, message: expect.stringMatching(message) });
  const written = await p.store.readAll({ after: before });
  expect(written.map((e) => [e.type, (e.data as { operation: string }).operation])).toEqual([['AccessDenied', type]]);
};

describe('a kiosk reports PIN checks', () => {
  it('of the device its started charge names, and of no other: it cannot PIN-lock the fleet', async () => {
    const { chargeId, serial } = await p.charge('STARTED');
    const elsewhere = await p.device('ACTIVE');
    for (let i = 0; i < 5; i++) {
      await expectForbidden(
        FAILURE,
        { serial: elsewhere, chargerId: p.kiosk, chargeId, reason: 'BAD_PIN' },
        'CHARGER',
        new RegExp(`only for the device its charge names; charge ${chargeId} charges ${serial}, not ${elsewhere}$`),
      );
    }
    expect(await deviceState(elsewhere)).toMatchObject({ pinFailures: 0, pinLocked: false });

    expect(await send(FAILURE, { serial, chargerId: p.kiosk, chargeId, reason: 'BAD_PIN' }, 'CHARGER')).toBe('ok');
    expect(await send(AUTHENTICATED, { serial, chargerId: p.kiosk, chargeId }, 'CHARGER')).toBe('ok');
  });

  it('only until the platform checks the device, so a verified charge cannot clear the count of wrong PINs', async () => {
    const { chargeId, serial } = await p.charge('VERIFIED');
    await p.system(FAILURE, { serial, chargerId: p.kiosk, chargeId, reason: 'BAD_PIN' });
    await expectForbidden(AUTHENTICATED, { serial, chargerId: p.kiosk, chargeId }, 'CHARGER', /is DEVICE_VERIFIED: start a new charge/);
    expect(await deviceState(serial)).toMatchObject({ pinFailures: 1 });
  });
});

describe('a revoked kiosk', () => {
  it('may run and read nothing: not clear a PIN count, not count a wrong PIN, not read its own view', async () => {
    const kiosk = 'kiosk-revoked';
    const issued = await createPrincipal(p.bus, { name: 'kiosk at substation 2', role: 'CHARGER', principalId: kiosk });
    if (E.isLeft(issued)) throw new Error(issued.left.message);
    await p.access.caughtUpTo(issued.right.position);
    const token = { token: issued.right.token };
    await p.system('RegisterCharger', { chargerId: kiosk, location: 'Substation 2', golden: GOLDEN });
    await p.system('AttestCharger', { chargerId: kiosk, measurements: GOLDEN });

    // The kiosk is charging a device whose user typed two wrong PINs.
    const serial = await p.device('ACTIVE');
    const chargeId = p.newId('charge');
    await p.system('StartCharge', { chargeId, deviceSerial: serial, chargerId: kiosk, sourceId: await p.pool(), bytes: 64 });
    for (let i = 0; i < 2; i++) expect(await send(FAILURE, { serial, chargerId: kiosk, chargeId, reason: 'BAD_PIN' }, token)).toBe('ok');

    expect(await send('RevokeCharger', { chargerId: kiosk, reason: 'kiosk stolen' }, 'SECURITY_ADMIN')).toBe('ok');

    const revoked = /^charger kiosk-revoked is revoked, so it may run and read nothing; /;
    await expectForbidden(AUTHENTICATED, { serial, chargerId: kiosk, chargeId }, token, revoked);
    await expectForbidden(FAILURE, { serial, chargerId: kiosk, chargeId, reason: 'BAD_PIN' }, token, revoked);
    expect(await deviceState(serial)).toMatchObject({ pinFailures: 2, pinLocked: false });

    const view = await p.gql('query($id: String!) { charger(chargerId: $id) { status } }', { id: kiosk }, token);
    expect(view.body.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' }, message: expect.stringMatching(revoked) });
  });
});
