import fc from 'fast-check';
import * as E from 'fp-ts/Either';
import { decodeRecorded } from '../../application/event-decoding';
import { RecordedEvent } from '../../application/ports/event-store';
import { chargeEventCodecs } from '../../domain/charge';
import { chargerEventCodecs } from '../../domain/charger/events';
import { deviceEventCodecs } from '../../domain/device/events';
import { keyPoolEventCodecs } from '../../domain/keypool';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { auditEntryOf } from '../../read-models/audit/projection';
import { canonicalTime, ProjectionError, toProjected } from '../../read-models/projection';
import { platform } from './support/platform';

// Events reach the projections checked rather than copied, and times canonical without a parse
// where they already are: both shortcuts must answer exactly as the long way does.

const codecs = { ...deviceEventCodecs, ...chargerEventCodecs, ...keyPoolEventCodecs, ...chargeEventCodecs };

/** The long way: parse the time and print it back. */
const parsedTime = (value: string): string | undefined => {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) return undefined;
  const iso = time.toISOString();
  return iso.length === 24 ? iso : undefined;
};

describe('a projected event', () => {
  it('has its time in canonical form exactly when parsing and printing it back gives one', () => {
    const digits = (n: number) => fc.integer({ min: 0, max: 10 ** n - 1 }).map((v) => String(v).padStart(n, '0'));
    // Every field over its whole range of digits, so days past a month's end, hour 24 and the like come up.
    const isoShaped = fc
      .tuple(digits(4), digits(2), digits(2), digits(2), digits(2), digits(2), digits(3))
      .map(([y, mo, d, h, mi, s, ms]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`);
    const years0To9999 = { min: new Date(-62167219200000), max: new Date(253402300799999), noInvalidDate: true };
    const printed = fc.date(years0To9999).map((d) => d.toISOString());
    const other = fc.oneof(fc.string(), fc.constantFrom('2026-03-01T08:00:00Z', '2026-03-01T08:00:00.000+01:00', '2026-03-01'));
    fc.assert(
      fc.property(fc.oneof(isoShaped, printed, other), (value) => {
        expect(canonicalTime(value)).toBe(parsedTime(value));
      }),
      { numRuns: 20_000 },
    );
    expect(canonicalTime(12)).toBeUndefined();
  });

  it('is accepted exactly when its codec decodes it, and then carries every field the codec gives', async () => {
    const store = new InMemoryEventStore();
    const p = platform(store);
    await p.registerCharger('kiosk-1');
    await p.ingest('bb84', 'block-1', 4_096);
    await p.activeDevice('UKEY-000001', 'grid-east', 'user-1');
    await p.charge('c-1', 'UKEY-000001', 'kiosk-1', 'bb84', 1_024);
    const log = await store.readAll();
    await store.close();
    const spoil = fc.oneof(
      fc.record({ keep: fc.constant(true as const) }),
      fc.record({ remove: fc.constant(true as const) }),
      fc.record({ to: fc.oneof(fc.constant(null), fc.integer(), fc.string(), fc.constant([]), fc.constant({})) }),
    );
    const event = fc.constantFrom(...log);
    const seen = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(event, fc.nat(), spoil, fc.boolean(), (recorded, which, change, extra) => {
        const data = { ...(recorded.data as Record<string, unknown>) };
        const keys = Object.keys(data);
        const key = keys[which % keys.length];
        if ('remove' in change) delete data[key];
        else if ('to' in change) data[key] = change.to;
        if (extra) data.unexpected = 'field';
        const spoiled: RecordedEvent = { ...recorded, data };
        const decoded = decodeRecorded<{ data: Record<string, unknown> }>(codecs, spoiled);
        if (E.isLeft(decoded)) {
          seen.refused++;
          expect(() => toProjected(spoiled)).toThrow(new ProjectionError(decoded.left.message));
        } else {
          seen.accepted++;
          const projected = toProjected(spoiled).event as unknown as { type: string; data: Record<string, unknown> };
          expect(projected.type).toBe(spoiled.type);
          expect(projected.data).toMatchObject(decoded.right.data);
        }
      }),
      { numRuns: 3_000 },
    );
    expect(seen.accepted).toBeGreaterThan(100);
    expect(seen.refused).toBeGreaterThan(100);
  });
});

describe('an AccessDenied entry', () => {
  const denied = (target: string | null): RecordedEvent => ({
    position: 7,
    id: '00000000-0000-4000-8000-000000000007',
    streamId: 'access-eve',
    revision: 0,
    type: 'AccessDenied',
    data: { principalId: 'eve', role: 'AUDITOR', operation: 'device', target, reason: 'FORBIDDEN' },
    metadata: {
      actorId: 'eve',
      actorRole: 'AUDITOR',
      commandId: 'c-7',
      commandType: 'AccessDenied',
      correlationId: 'c-7',
      causationId: 'c-7',
      occurredAt: '2026-03-01T08:00:00.000Z',
    },
  });

  it.each([
    ['device-UKEY-000001', ['device:UKEY-000001']],
    ['keypool-bb84', ['keypool:bb84']],
    ['charger-kiosk-1', ['charger:kiosk-1']],
    // An id alone, or a prefix no aggregate has, names no target.
    ['saeA', []],
    ['device1', []],
    ['-device', []],
    ['nowhere-x', []],
    [null, []],
  ])('asked for %p concerns %p', (target, concerns) => {
    expect(auditEntryOf(toProjected(denied(target))).concerns).toEqual(concerns);
  });
});
