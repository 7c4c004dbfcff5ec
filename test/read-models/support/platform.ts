import * as E from 'fp-ts/Either';
import { randomUUID } from 'node:crypto';
import { CommandBus, CommandResult } from '../../../application/command-bus';
import { EventStore, NewEvent } from '../../../application/ports/event-store';
import { commandRoutes } from '../../../application/routes';
import { Message } from '../../../domain/shared/aggregate';

// Drives the real aggregates through the command bus, so the views are tested on real events.

const HASH = (c: string): string => c.repeat(64);
const GOLDEN = { bootModule: HASH('1'), operatingSystem: HASH('2'), application: HASH('3') };

export const SECURITY_ADMIN = { id: 'alice', role: 'SECURITY_ADMIN' } as const;
export const USER_ADMIN = { id: 'bob', role: 'USER_ADMIN' } as const;
export const CHARGER = { id: 'kiosk-agent', role: 'CHARGER' } as const;

type Actor = { readonly id: string; readonly role: string };

export interface Platform {
  readonly bus: CommandBus;
  /** Moves the clock on. */
  advance(ms: number): void;
  run(actor: Actor, command: Message): Promise<CommandResult>;
  /** Appends an event of a type this build does not know, as another module would, caused by `correlationId` if given. */
  appendForeign(streamId: string, type: string, data: unknown, actor?: Actor, correlationId?: string): Promise<number>;
  registerCharger(chargerId: string, attested?: boolean): Promise<CommandResult>;
  ingest(sourceId: string, blockId: string, length: number): Promise<CommandResult>;
  activeDevice(serial: string, organisation: string, userId: string, kind?: string): Promise<CommandResult>;
  /** A complete charge of one range `${chargeId}-r`; returns the last result. */
  charge(chargeId: string, serial: string, chargerId: string, sourceId: string, bytes: number): Promise<CommandResult>;
}

export const platform = (store: EventStore, start = '2026-03-01T08:00:00.000Z'): Platform => {
  let now = Date.parse(start);
  const bus = new CommandBus(store, commandRoutes, { clock: () => new Date(now) });
  const run = async (actor: Actor, command: Message): Promise<CommandResult> => {
    const result = await bus.execute({ commandId: `cmd-${randomUUID()}`, actor }, command);
    if (E.isLeft(result)) throw new Error(`${command.type} failed: ${result.left.message}`);
    return result.right;
  };
  const p: Platform = {
    bus,
    advance: (ms) => void (now += ms),
    run,
    appendForeign: async (streamId, type, data, actor = SECURITY_ADMIN, correlationId?: string) => {
      const commandId = `cmd-${randomUUID()}`;
      const event: NewEvent = {
        id: randomUUID(),
        type,
        data,
        metadata: {
          actorId: actor.id,
          actorRole: actor.role,
          commandId,
          commandType: type,
          correlationId: correlationId ?? commandId,
          causationId: commandId,
          occurredAt: new Date(now).toISOString(),
        },
      };
      return (await store.append(streamId, [event], 'any')).position;
    },
    registerCharger: async (chargerId, attested = true) => {
      const registered = await run(SECURITY_ADMIN, {
        type: 'RegisterCharger',
        data: { chargerId, location: `substation ${chargerId}`, golden: GOLDEN },
      });
      if (!attested) return registered;
      return run(CHARGER, { type: 'AttestCharger', data: { chargerId, measurements: GOLDEN } });
    },
    ingest: (sourceId, blockId, length) =>
      run({ id: 'qkd-link', role: 'SYSTEM' }, {
        type: 'IngestKeyMaterial',
        data: { sourceId, blockId, length, qber: 0.02, commitment: HASH('c') },
      }),
    activeDevice: async (serial, organisation, userId, kind = 'UKEY') => {
      await run(SECURITY_ADMIN, {
        type: 'InitializeDevice',
        data: { serial, kind, credentialKind: 'CERTIFICATE', credentialFingerprint: HASH('f') },
      });
      await run(USER_ADMIN, { type: 'DistributeDevice', data: { serial, organisation } });
      return run(USER_ADMIN, { type: 'BindDevice', data: { serial, userId } });
    },
    charge: async (chargeId, serial, chargerId, sourceId, bytes) => {
      const rangeId = `${chargeId}-r`;
      await run(CHARGER, { type: 'StartCharge', data: { chargeId, deviceSerial: serial, chargerId, sourceId, bytes } });
      await run(CHARGER, { type: 'RecordChargeDeviceVerification', data: { chargeId, verified: true, method: 'CERTIFICATE' } });
      const reserved = await run(CHARGER, { type: 'ReserveKeyRange', data: { sourceId, rangeId, length: bytes, chargeId } });
      const { offset } = reserved.events[0].data as { offset: number };
      await run(CHARGER, {
        type: 'DeliverChargeKeys',
        data: { chargeId, sourceId, rangeId, offset, length: bytes, commitment: HASH('d') },
      });
      await run(CHARGER, { type: 'IssueKeyRange', data: { sourceId, rangeId, deviceSerial: serial } });
      return run(CHARGER, { type: 'CompleteCharge', data: { chargeId, deviceAcknowledgement: HASH('a') } });
    },
  };
  return p;
};
