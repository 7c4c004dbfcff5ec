import * as E from 'fp-ts/Either';
import { AccessControl } from '../../../application/access/access-control';
import { revokePrincipal, rotatePrincipalToken } from '../../../application/access/principals';
import { generateToken } from '../../../application/access/tokens';
import { RecordedEvent } from '../../../application/ports/event-store';
import { at, issue, ok, platform, Platform } from './fixture';

const INVALID = /^the bearer token is not valid \(unknown, rotated or revoked\); ask whoever runs the platform for a current token \(they make one with `qkmp admin create` or `qkmp admin rotate` on its host, with the settings of this server: a token made in another event log is unknown here\)$/;

let p: Platform;
beforeEach(async () => {
  p = await platform();
});
afterEach(() => p.close());

/** Authenticates, expecting a refusal, and returns it with what it appended. */
const refused = async (header: string | undefined) => {
  let result: Awaited<ReturnType<AccessControl['authenticate']>> | undefined;
  const appended = await p.appendedBy(async () => {
    result = await p.access.authenticate(header);
  });
  if (result === undefined || E.isRight(result)) throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
  return { error: result.left, appended };
};

const denial = (principalId: string | null, role: string | null) => ({
  streamId: `access-${principalId ?? 'anonymous'}`,
  revision: expect.any(Number),
  type: 'AccessDenied',
  data: { principalId, role, operation: 'authenticate', target: null, reason: 'UNAUTHENTICATED' },
  metadata: expect.objectContaining({
    actorId: principalId ?? 'anonymous',
    actorRole: role ?? 'ANONYMOUS',
    commandType: 'AccessDenied',
    occurredAt: at.toISOString(),
  }),
});

describe('authenticate', () => {
  it('refuses a request without an Authorization header as UNAUTHENTICATED, recording one anonymous denial', async () => {
    const { error, appended } = await refused(undefined);
    expect(error).toEqual({
      code: 'UNAUTHENTICATED',
      message: expect.stringMatching(/^this endpoint answers only an authenticated principal: send an Authorization header "Bearer <token>"/),
    });
    expect(appended).toEqual([expect.objectContaining(denial(null, null))]);
  });

  it('recognises the token of each principal, and records nothing', async () => {
    for (const [role, { principalId, token }] of Object.entries(p.tokens)) {
      const appended = await p.appendedBy(async () => {
        expect(await p.access.authenticate(`Bearer ${token}`)).toEqual(
          E.right({ id: principalId, name: `the ${role.toLowerCase()}`, role }),
        );
      });
      expect(appended).toEqual([]);
    }
  });

  it.each([
    ['an empty header', ''],
    ['another scheme', 'Basic YWxpY2U6c2VjcmV0'],
    ['a bare token', generateToken()],
    ['a token not issued by the platform', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc'],
    ['a token cut short', `Bearer ${generateToken().slice(0, 40)}`],
  ])('refuses %s as UNAUTHENTICATED, recording one anonymous denial', async (_, header) => {
    const { error, appended } = await refused(header);
    expect(error).toEqual({
      code: 'UNAUTHENTICATED',
      message: expect.stringMatching(
        /^the Authorization header must be "Bearer <token>" with a whole token the platform issued: qkmp_ and 43 more letters, digits, '-' or '_'; .*cut short/,
      ),
    });
    expect(appended).toEqual([expect.objectContaining(denial(null, null))]);
  });

  it('reads the log tail for a burst of unknown tokens in shared reads, not one read each', async () => {
    const reads = jest.spyOn(p.store, 'readAll');
    try {
      const answers = await Promise.all(Array.from({ length: 50 }, () => p.access.authenticate(`Bearer ${generateToken()}`)));
      expect(answers.every(E.isLeft)).toBe(true);
      expect(reads.mock.calls.length).toBeLessThanOrEqual(2);
    } finally {
      reads.mockRestore();
    }
  });

  it('refuses an unknown token as UNAUTHENTICATED, recording one anonymous denial', async () => {
    const { error, appended } = await refused(`Bearer ${generateToken()}`);
    expect(error).toEqual({ code: 'UNAUTHENTICATED', message: expect.stringMatching(INVALID) });
    expect(appended).toEqual([expect.objectContaining(denial(null, null))]);
  });

  it('refuses a revoked token, recording the denial under its former holder', async () => {
    const { principalId, token } = p.tokens.USER_ADMIN;
    const revoked = ok(await revokePrincipal(p.bus, principalId, 'left the company'));
    await p.access.caughtUpTo(revoked.position);
    const { error, appended } = await refused(`Bearer ${token}`);
    expect(error).toEqual({ code: 'UNAUTHENTICATED', message: expect.stringMatching(INVALID) });
    expect(appended).toEqual([expect.objectContaining(denial(principalId, 'USER_ADMIN'))]);
  });

  it('tells an unknown token and a revoked one apart only in the audit, never to the caller', async () => {
    const { principalId, token } = p.tokens.AUDITOR;
    await p.access.caughtUpTo(ok(await revokePrincipal(p.bus, principalId, 'rotation of staff')).position);
    const revoked = await refused(`Bearer ${token}`);
    const unknown = await refused(`Bearer ${generateToken()}`);
    expect(revoked.error).toEqual(unknown.error);
  });

  it('accepts only the newest token after a rotation', async () => {
    const { principalId, token: old } = p.tokens.CHARGER;
    const rotated = ok(await rotatePrincipalToken(p.bus, principalId));
    await p.access.caughtUpTo(rotated.position);
    expect(rotated.token).not.toBe(old);
    expect(await p.access.authenticate(`Bearer ${rotated.token}`)).toEqual(
      E.right({ id: principalId, name: 'the charger', role: 'CHARGER' }),
    );
    const { error, appended } = await refused(`Bearer ${old}`);
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(appended).toEqual([expect.objectContaining(denial(principalId, 'CHARGER'))]);
  });

  it('accepts a token created after it started, once it has caught up with the event', async () => {
    const late = await issue(p.bus, p.access, 'AUDITOR', 'late-auditor');
    expect(ok(await p.access.authenticate(`Bearer ${late.token}`))).toMatchObject({ id: 'late-auditor' });
  });

  it('knows every token at once when opened on an existing log', async () => {
    const second = await AccessControl.open(p.store, p.bus.load);
    try {
      for (const { principalId, token } of Object.values(p.tokens)) {
        expect(ok(await second.authenticate(`Bearer ${token}`))).toMatchObject({ id: principalId });
      }
    } finally {
      await second.close();
    }
  });

  it('never puts a token or its hash into an error or a denial', async () => {
    const token = generateToken();
    const { error, appended } = await refused(`Bearer ${token}`);
    const revokedToken = p.tokens.GATEWAY.token;
    await p.access.caughtUpTo(ok(await revokePrincipal(p.bus, p.tokens.GATEWAY.principalId, 'retired')).position);
    const second = await refused(`Bearer ${revokedToken}`);
    const text = JSON.stringify([error, appended, second.error, second.appended]);
    for (const secret of [token, token.slice(5), revokedToken, revokedToken.slice(5)]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/[0-9a-f]{64}/);
  });
});

describe('recognise', () => {
  it('names the principal of a working token without reading the log or recording anything', async () => {
    const { principalId, token } = p.tokens.AUDITOR;
    const before = await p.log();
    const reads = jest.spyOn(p.store, 'readAll');
    try {
      expect(p.access.recognise(`Bearer ${token}`)).toEqual({ id: principalId, name: 'the auditor', role: 'AUDITOR' });
      for (const header of [`Bearer ${generateToken()}`, 'Basic YWxpY2U6c2VjcmV0', '']) expect(p.access.recognise(header)).toBeUndefined();
      expect(reads).not.toHaveBeenCalled();
    } finally {
      reads.mockRestore();
    }
    expect(await p.log()).toEqual(before);
  });

  it('leaves a revoked token to authenticate, which records its refusal', async () => {
    const { principalId, token } = p.tokens.GATEWAY;
    await p.access.caughtUpTo(ok(await revokePrincipal(p.bus, principalId, 'retired')).position);
    expect(p.access.recognise(`Bearer ${token}`)).toBeUndefined();
  });
});

describe('caughtUpTo', () => {
  it('waits for an event not yet applied and resolves once it is', async () => {
    const head = (await p.log()).at(-1) as RecordedEvent;
    await expect(p.access.caughtUpTo(head.position)).resolves.toBeUndefined();
    let resolved = false;
    const waiting = p.access.caughtUpTo(head.position + 1).then(() => (resolved = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(resolved).toBe(false);
    await issue(p.bus, p.access, 'GATEWAY');
    await waiting;
    expect(resolved).toBe(true);
  });

  it('rejects waiting callers when closed, so a test cannot hang', async () => {
    const head = (await p.log()).at(-1) as RecordedEvent;
    const rejected = expect(p.access.caughtUpTo(head.position + 100)).rejects.toThrow('closed');
    await p.access.close();
    await rejected;
  });
});
