import * as E from 'fp-ts/Either';
import { createPrincipal, revokePrincipal, rotatePrincipalToken } from '../../../application/access/principals';
import { hashToken } from '../../../application/access/tokens';
import { CommandBus } from '../../../application/command-bus';
import { principalAggregate, PrincipalRole } from '../../../domain/principal';
import { InMemoryEventStore } from '../../../infrastructure/event-store/memory';
import { ok } from './fixture';

let store: InMemoryEventStore;
let bus: CommandBus;
beforeEach(() => {
  store = new InMemoryEventStore();
  bus = new CommandBus(store, [{ aggregate: principalAggregate }]);
});
afterEach(() => store.close());

const left = <A>(either: E.Either<{ code: string; message: string }, A>) => {
  if (E.isRight(either)) throw new Error(`expected an error, got ${JSON.stringify(either.right)}`);
  return either.left;
};

describe('createPrincipal', () => {
  it('hands out a token once and records only its hash, as SYSTEM', async () => {
    const issued = ok(await createPrincipal(bus, { name: 'Bob, user administrator', role: 'USER_ADMIN' }));
    expect(issued.principalId).toMatch(/^user-admin-[0-9a-f]{12}$/);
    expect(issued.token).toMatch(/^qkmp_/);
    const [event] = await store.readStream(`principal-${issued.principalId}`);
    expect(event).toMatchObject({
      type: 'PrincipalCreated',
      position: issued.position,
      data: {
        principalId: issued.principalId,
        name: 'Bob, user administrator',
        role: 'USER_ADMIN',
        tokenHash: hashToken(issued.token),
      },
      metadata: { actorId: 'system', actorRole: 'SYSTEM', commandType: 'CreatePrincipal' },
    });
  });

  it('gives every principal its own id and token', async () => {
    const a = ok(await createPrincipal(bus, { name: 'A', role: 'AUDITOR' }));
    const b = ok(await createPrincipal(bus, { name: 'B', role: 'AUDITOR' }));
    expect(a.principalId).not.toBe(b.principalId);
    expect(a.token).not.toBe(b.token);
  });

  it('gives a charger the principal id of its charger id', async () => {
    const kiosk = { name: 'Kiosk 7', role: 'CHARGER', principalId: 'qkc-substation-7' } as const;
    const issued = ok(await createPrincipal(bus, kiosk));
    expect(issued.principalId).toBe('qkc-substation-7');
  });

  it('refuses a charger without its charger id, and writes nothing', async () => {
    const error = left(await createPrincipal(bus, { name: 'Kiosk 7', role: 'CHARGER' }));
    expect(error).toMatchObject({
      code: 'INVALID_INPUT',
      message: "principalId: is required for a CHARGER: give the charger's id",
    });
    expect(await store.readAll()).toEqual([]);
  });

  it('refuses SYSTEM, which no token may carry', async () => {
    const error = left(await createPrincipal(bus, { name: 'root', role: 'SYSTEM' as PrincipalRole }));
    expect(error).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/^data.role: must be one of/) });
  });

  it('refuses an id in use', async () => {
    ok(await createPrincipal(bus, { name: 'Kiosk 7', role: 'CHARGER', principalId: 'qkc-7' }));
    const error = left(await createPrincipal(bus, { name: 'Kiosk 7 again', role: 'CHARGER', principalId: 'qkc-7' }));
    expect(error).toMatchObject({
      code: 'ALREADY_EXISTS',
      message: 'principal qkc-7 already exists; choose another id',
    });
  });
});

describe('rotatePrincipalToken and revokePrincipal', () => {
  it('rotates to a new token, recording only its hash', async () => {
    const created = ok(await createPrincipal(bus, { name: 'Gateway', role: 'GATEWAY' }));
    const rotated = ok(await rotatePrincipalToken(bus, created.principalId));
    expect(rotated).toMatchObject({ principalId: created.principalId, position: created.position + 1 });
    expect(rotated.token).not.toBe(created.token);
    const [, event] = await store.readStream(`principal-${created.principalId}`);
    expect(event).toMatchObject({ type: 'PrincipalTokenRotated', data: { tokenHash: hashToken(rotated.token) } });
  });

  it('revokes with a reason', async () => {
    const created = ok(await createPrincipal(bus, { name: 'Gateway', role: 'GATEWAY' }));
    const revoked = ok(await revokePrincipal(bus, created.principalId, 'host decommissioned'));
    expect(revoked).toEqual({ principalId: created.principalId, position: created.position + 1 });
    const [, event] = await store.readStream(`principal-${created.principalId}`);
    expect(event).toMatchObject({ type: 'PrincipalRevoked', data: { reason: 'host decommissioned' } });
  });

  it('passes on the refusals of the aggregate', async () => {
    expect(left(await rotatePrincipalToken(bus, 'nobody'))).toMatchObject({ code: 'NOT_FOUND' });
    expect(left(await revokePrincipal(bus, 'nobody', 'typo'))).toMatchObject({ code: 'NOT_FOUND' });
  });
});
