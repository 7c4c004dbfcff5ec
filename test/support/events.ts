import { randomUUID } from 'node:crypto';
import { EventMetadata, NewEvent } from '../../application/ports/event-store';

/** Metadata as the command bus writes it, with a fresh command id. */
export const sampleMetadata = (overrides: Partial<EventMetadata> = {}): EventMetadata => {
  const commandId = randomUUID();
  return {
    actorId: 'admin-1',
    actorRole: 'SECURITY_ADMIN',
    commandId,
    commandType: 'InitializeDevice',
    correlationId: commandId,
    causationId: commandId,
    occurredAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
};

/** A raw event for store tests: stores are type-agnostic, so any type and data will do. */
export const sampleEvent = (overrides: Partial<NewEvent> = {}): NewEvent => ({
  id: randomUUID(),
  type: 'DeviceInitialized',
  data: { serial: 'UKEY-000001' },
  metadata: sampleMetadata(),
  ...overrides,
});
