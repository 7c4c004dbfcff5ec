import { randomUUID } from 'node:crypto';
import { NewEvent } from '../application/ports/event-store';

/** One benchmark result line: adapter throughput against the bare driver doing the same work. */
export interface Result {
  readonly name: string;
  readonly value: number;
  readonly unit: 'events/s';
  readonly baseline: number;
  readonly ratio: number;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const elapsed = async (work: () => Promise<void>): Promise<number> => {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
};

export interface Plan {
  /** Measured rounds (one warm-up round runs first); the result is the median round. */
  readonly rounds: number;
  /** Operations per round, each handling `eventsPerStep` events. */
  readonly steps: number;
  readonly eventsPerStep: number;
}

/**
 * Times adapter and baseline one operation at a time, alternating which goes first, so both see
 * the same moment of a machine whose disk and CPU are shared and drift: a round's ratio then
 * measures the adapter, not the weather. Input for each round comes from `prepare`, untimed.
 */
export const compare = async <I>(
  name: string,
  plan: Plan,
  prepare: () => I,
  adapter: (input: I, step: number) => Promise<void>,
  baseline: (input: I, step: number) => Promise<void>,
): Promise<Result> => {
  const adapterRates: number[] = [];
  const baselineRates: number[] = [];
  const events = plan.steps * plan.eventsPerStep;
  for (let round = 0; round <= plan.rounds; round++) {
    const [a, b] = [prepare(), prepare()];
    let [adapterSeconds, baselineSeconds] = [0, 0];
    for (let step = 0; step < plan.steps; step++) {
      if (step % 2 === 0) {
        adapterSeconds += await elapsed(() => adapter(a, step));
        baselineSeconds += await elapsed(() => baseline(b, step));
      } else {
        baselineSeconds += await elapsed(() => baseline(b, step));
        adapterSeconds += await elapsed(() => adapter(a, step));
      }
    }
    if (round > 0) {
      adapterRates.push(events / adapterSeconds);
      baselineRates.push(events / baselineSeconds);
    }
  }
  const value = median(adapterRates);
  const base = median(baselineRates);
  return { name, value: round(value), unit: 'events/s', baseline: round(base), ratio: round(value / base, 3) };
};

const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

/** Events shaped like the platform's: small data, full metadata. */
export const sampleEvents = (count: number): NewEvent[] =>
  Array.from({ length: count }, (_, i) => {
    const commandId = randomUUID();
    return {
      id: randomUUID(),
      type: 'KeyRangeIssued',
      data: { rangeId: `range-${i}`, deviceSerial: 'UKEY-000001', offset: i * 4096, length: 4096, chargeId: commandId },
      metadata: {
        actorId: 'charger-7',
        actorRole: 'CHARGER',
        commandId,
        commandType: 'IssueKeyRange',
        correlationId: commandId,
        causationId: commandId,
        occurredAt: '2026-01-01T00:00:00.000Z',
      },
    };
  });

/** The row a bare INSERT writes for an event: data and metadata as the JSON text the adapters store. */
export interface BareRow {
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
}

export const bareRows = (events: readonly NewEvent[]): BareRow[] =>
  events.map((e) => ({ id: e.id, type: e.type, data: JSON.stringify(e.data), metadata: JSON.stringify(e.metadata) }));

export const streamName = (label: string): string => `bench-${label}-${randomUUID()}`;
