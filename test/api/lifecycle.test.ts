import { randomUUID } from 'node:crypto';
import { FINGERPRINT, RECEIPT } from './support/fixtures';
import { Platform } from './support/platform';

// The paper's steps 1 and 2 through the API: a security administrator initializes a device, a
// user administrator distributes it and binds it to a user; each reads its own writes.

let p: Platform;
beforeAll(async () => {
  p = await Platform.start();
});
afterAll(() => p.close());

const DEVICE = 'serial status kind credentialKind organisation userId pinLocked initializedAt distributedAt boundAt position';

describe('initializing, distributing and binding a device', () => {
  it('goes through the console mutations and reads back with consistentWith, then shows in the audit', async () => {
    const serial = p.newSerial();
    const initialized = await p.gql(
      `mutation($input: InitializeDeviceInput!) { initializeDevice(input: $input) { ${RECEIPT} } }`,
      { input: { commandId: randomUUID(), serial, kind: 'TF_CARD', credentialKind: 'QK_STRING', credentialFingerprint: FINGERPRINT } },
      'SECURITY_ADMIN',
    );
    expect(initialized.status).toBe(200);
    expect(initialized.body.errors).toBeUndefined();
    expect(initialized.body.data?.initializeDevice).toMatchObject({
      streamId: `device-${serial}`,
      revision: 0,
      replayed: false,
      events: [{ type: 'DeviceInitialized', data: { serial, kind: 'TF_CARD', credentialKind: 'QK_STRING', credentialFingerprint: FINGERPRINT } }],
    });

    const distributed = await p.gql(
      `mutation($input: DistributeDeviceInput!) { distributeDevice(input: $input) { ${RECEIPT} } }`,
      { input: { commandId: randomUUID(), serial, organisation: 'grid-north', expectedRevision: 0 } },
      'USER_ADMIN',
    );
    expect(distributed.body.data?.distributeDevice).toMatchObject({ revision: 1, events: [{ type: 'DeviceDistributed' }] });

    const bound = await p.gql(
      `mutation($input: BindDeviceInput!) { bindDevice(input: $input) { ${RECEIPT} } }`,
      { input: { commandId: randomUUID(), serial, userId: 'lineman-42', expectedRevision: 1 } },
      'USER_ADMIN',
    );
    const receipt = bound.body.data?.bindDevice;
    expect(receipt).toMatchObject({ revision: 2, events: [{ type: 'DeviceBound', data: { serial, userId: 'lineman-42' } }] });

    const read = await p.gql(
      `query($serial: String!, $at: SafeInt) { device(serial: $serial, consistentWith: $at) { ${DEVICE} } }`,
      { serial, at: receipt.position },
      'USER_ADMIN',
    );
    expect(read.body.errors).toBeUndefined();
    expect(read.body.data?.device).toMatchObject({
      serial,
      status: 'ACTIVE',
      kind: 'TF_CARD',
      credentialKind: 'QK_STRING',
      organisation: 'grid-north',
      userId: 'lineman-42',
      pinLocked: false,
      position: receipt.position,
    });
    expect(read.body.data?.device.boundAt).toEqual(expect.any(String));

    const audit = await p.gql(
      `query($target: String!, $at: SafeInt) {
        audit(filter: { target: $target }, consistentWith: $at) { total items { action actorId actorRole outcome } }
      }`,
      { target: `device:${serial}`, at: receipt.position },
      'AUDITOR',
    );
    expect(audit.body.errors).toBeUndefined();
    expect(audit.body.data?.audit.total).toBe(3);
    expect(audit.body.data?.audit.items.map((i: { action: string }) => i.action).sort()).toEqual(
      ['DeviceBound', 'DeviceDistributed', 'DeviceInitialized'],
    );
    expect(audit.body.data?.audit.items).toContainEqual({
      action: 'DeviceInitialized',
      actorId: p.ids.SECURITY_ADMIN,
      actorRole: 'SECURITY_ADMIN',
      outcome: 'SUCCESS',
    });
    // The stream id a receipt gives names the same target; a serial alone names none, and says so.
    const byStream = await p.gql(
      'query($target: String!) { audit(filter: { target: $target }) { total } }',
      { target: receipt.streamId },
      'AUDITOR',
    );
    expect(byStream.body).toEqual({ data: { audit: { total: 3 } } });
    const bySerial = await p.gql('query($target: String!) { audit(filter: { target: $target }) { total } }', { target: serial }, 'AUDITOR');
    expect(bySerial.body.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/^target: must name a target as kind:id, such as device:UKEY-2026-0001, or as its stream id/),
      extensions: { code: 'INVALID_INPUT' },
    });
  });

  it('shows when a PIN lock was lifted beside when it was set, with the unblock\'s time', async () => {
    const serial = await p.device('PIN_LOCKED');
    const unblocked = await p.gql(
      `mutation($input: UnblockDevicePinInput!) { unblockDevicePin(input: $input) { position events { type } } }`,
      { input: { commandId: randomUUID(), serial } },
      'USER_ADMIN',
    );
    expect(unblocked.body.data?.unblockDevicePin.events).toEqual([{ type: 'DevicePinUnblocked' }]);
    const { position } = unblocked.body.data?.unblockDevicePin;
    const [event] = await p.store.readAll({ after: position - 1 });
    const read = await p.gql(
      'query($serial: String!, $at: SafeInt) { device(serial: $serial, consistentWith: $at) { pinLocked pinLockedAt pinUnblockedAt } }',
      { serial, at: position },
      'USER_ADMIN',
    );
    expect(read.body.data?.device).toEqual({
      pinLocked: false,
      pinLockedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      pinUnblockedAt: event.metadata.occurredAt,
    });
  });

  it('answers the first receipt again, marked replayed, when a console resends a command with the same id', async () => {
    const serial = p.newSerial();
    const input = { commandId: randomUUID(), serial, kind: 'UKEY', credentialKind: 'CERTIFICATE', credentialFingerprint: FINGERPRINT };
    const send = () => p.gql(`mutation($input: InitializeDeviceInput!) { initializeDevice(input: $input) { ${RECEIPT} } }`, { input }, 'SECURITY_ADMIN');
    const first = (await send()).body.data?.initializeDevice;
    const again = (await send()).body.data?.initializeDevice;
    expect(again).toEqual({ ...first, replayed: true });
    expect(await p.store.readStream(`device-${serial}`)).toHaveLength(1);
  });
});
