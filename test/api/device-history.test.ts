import { Platform } from './support/platform';
import { codeOf } from './support/expectations';

// deviceHistory replays the device's own stream up to a time or a log position, for audit replay
// and forensics. The command bus runs on a clock the test moves a minute per command.

const START = Date.parse('2026-03-01T08:00:00.000Z');
const MINUTE = 60_000;
let now = START;

let p: Platform;
let serial: string;
const at: Record<string, { position: number; time: string }> = {};

beforeAll(async () => {
  p = await Platform.start({ clock: () => new Date((now += MINUTE)) });
  serial = p.newSerial();
  const steps: [string, Record<string, unknown>][] = [
    ['InitializeDevice', { serial, kind: 'SD_CARD', credentialKind: 'CERTIFICATE', credentialFingerprint: 'e'.repeat(64) }],
    ['DistributeDevice', { serial, organisation: 'grid-west' }],
    ['BindDevice', { serial, userId: 'lineman-9' }],
    ['FreezeDevice', { serial, reason: 'suspicious use' }],
  ];
  for (const [type, data] of steps) {
    const { position } = await p.system(type, data);
    const [event] = await p.store.readAll({ after: position - 1, maxCount: 1 });
    at[type] = { position, time: event.metadata.occurredAt };
  }
});
afterAll(() => p.close());

const HISTORY = `query($serial: String!, $asOf: AsOf) {
  deviceHistory(serial: $serial, asOf: $asOf) {
    serial revision
    state { status kind organisation userId pinLocked pinFailures }
    events { type data position revision at actorId actorRole commandId }
  }
}`;

const history = async (asOf?: Record<string, unknown>) => {
  const response = await p.gql(HISTORY, { serial, asOf }, 'AUDITOR');
  expect(response.body.errors).toBeUndefined();
  return response.body.data?.deviceHistory;
};

describe('deviceHistory', () => {
  it('replays the whole stream without asOf', async () => {
    const now = await history();
    expect(now.revision).toBe(3);
    expect(now.state).toMatchObject({ status: 'FROZEN', organisation: 'grid-west', userId: 'lineman-9' });
    expect(now.events.map((e: { type: string }) => e.type)).toEqual(['DeviceInitialized', 'DeviceDistributed', 'DeviceBound', 'DeviceFrozen']);
    expect(now.events[3]).toEqual({
      type: 'DeviceFrozen',
      data: { serial, reason: 'suspicious use' },
      position: at.FreezeDevice.position,
      revision: 3,
      at: at.FreezeDevice.time,
      actorId: 'test-setup',
      actorRole: 'SYSTEM',
      commandId: expect.any(String),
    });
  });

  it('gives the state at a log position', async () => {
    const then = await history({ position: at.BindDevice.position });
    expect(then.revision).toBe(2);
    expect(then.state).toMatchObject({ status: 'ACTIVE', userId: 'lineman-9' });
    expect(then.events).toHaveLength(3);
  });

  it('gives the state at a time between two events', async () => {
    const between = new Date(Date.parse(at.DistributeDevice.time) + MINUTE / 2).toISOString();
    const then = await history({ time: between });
    expect(then.revision).toBe(1);
    expect(then.state).toMatchObject({ status: 'DISTRIBUTED', organisation: 'grid-west', userId: null });
    expect(then.events.map((e: { type: string }) => e.type)).toEqual(['DeviceInitialized', 'DeviceDistributed']);
  });

  it('includes an event that happened exactly at the time asked for', async () => {
    expect((await history({ time: at.BindDevice.time })).state.status).toBe('ACTIVE');
  });

  it('takes the earlier bound when given both a time and a position', async () => {
    const then = await history({ time: at.FreezeDevice.time, position: at.DistributeDevice.position });
    expect(then.state.status).toBe('DISTRIBUTED');
  });

  it('has no state before the device was initialized', async () => {
    const before = await history({ time: new Date(START).toISOString() });
    expect(before).toEqual({ serial, revision: -1, state: null, events: [] });
  });

  it('refuses a time that is not ISO-8601', async () => {
    const response = await p.gql(HISTORY, { serial, asOf: { time: 'yesterday' } }, 'AUDITOR');
    expect(codeOf(response)).toBe('BAD_USER_INPUT');
  });

  it.each(['2026-11-31T00:00:00Z', '2026-02-29T12:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T12:60:00Z', '2026-01-01T12:00:00+24:00'])(
    'refuses %s, which names no real time, rather than rolling it over',
    async (time) => {
      const response = await p.gql(HISTORY, { serial, asOf: { time } }, 'AUDITOR');
      expect(codeOf(response)).toBe('BAD_USER_INPUT');
      expect(response.body.errors?.[0].message).toMatch(/DateTime must be an ISO-8601 time with a zone that names a real day and time/);
    },
  );

  it('takes the last day of a leap February', async () => {
    expect((await history({ time: '2028-02-29T23:59:59.999+01:00' })).state.status).toBe('FROZEN');
  });

  it('refuses a negative position as INVALID_INPUT naming it', async () => {
    const response = await p.gql(HISTORY, { serial, asOf: { position: -3 } }, 'AUDITOR');
    expect(response.body.errors?.[0]).toMatchObject({
      message: 'asOf.position: must be a log position: a whole number, 0 or more',
      extensions: { code: 'INVALID_INPUT', issues: [{ field: 'asOf.position' }] },
    });
  });
});
