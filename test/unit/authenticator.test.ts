import * as E from 'fp-ts/Either';
import { Authenticator } from '../../api/authentication';
import { ApiDeps } from '../../api/context';

// The limit on refused requests per address, around an access check that takes its time (a read of
// the log's tail): a stand-in for AccessControl, which the API tests exercise whole.
const ALICE = { id: 'alice', name: 'Alice', role: 'AUDITOR' } as const;

describe('the refused-request limit', () => {
  it('given a new address, when a burst of unknown tokens arrives at once, then only the limit is looked at', async () => {
    let looked = 0;
    const release: (() => void)[] = [];
    const access = {
      recognise: () => undefined,
      authenticate: async () => {
        looked++;
        await new Promise<void>((resolve) => release.push(resolve));
        return E.left({ code: 'UNAUTHENTICATED' as const, message: 'the bearer token is not valid' });
      },
    } as unknown as ApiDeps['access'];
    const authenticator = new Authenticator(access, { windowMs: 60_000, limit: 2 });
    const burst = Array.from({ length: 5 }, () => authenticator.authenticate('Bearer qkmp_x', '192.0.2.7'));
    await new Promise((resolve) => setImmediate(resolve));
    release.forEach((r) => r());
    const codes = (await Promise.all(burst)).map((answer) => (E.isLeft(answer) ? answer.left.code : 'ok'));
    expect(codes.sort()).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
    expect(looked).toBe(2);
  });

  it('gives back the count of an attempt that got no verdict (the store unavailable)', async () => {
    let storeDown = true;
    const access = {
      recognise: () => undefined,
      authenticate: async () => {
        if (storeDown) throw new Error('the event store cannot be reached');
        return E.right(ALICE);
      },
    } as unknown as ApiDeps['access'];
    const authenticator = new Authenticator(access, { windowMs: 60_000, limit: 2 });
    for (let i = 0; i < 4; i++) await expect(authenticator.authenticate('Bearer qkmp_x', '192.0.2.9')).rejects.toThrow(/cannot be reached/);
    storeDown = false;
    expect(E.isRight(await authenticator.authenticate('Bearer qkmp_x', '192.0.2.9'))).toBe(true);
  });

  it('gives back the count of a token found only in the log, made a moment ago', async () => {
    const access = { recognise: () => undefined, authenticate: async () => E.right(ALICE) } as unknown as ApiDeps['access'];
    const authenticator = new Authenticator(access, { windowMs: 60_000, limit: 1 });
    for (let i = 0; i < 5; i++) expect(E.isRight(await authenticator.authenticate('Bearer qkmp_x', '192.0.2.8'))).toBe(true);
  });

  /** Alice's token is known; any other header, or none, is refused (and would be audited). */
  const aliceOnly = () => {
    let refusals = 0;
    const access = {
      recognise: (header: string) => (header === 'Bearer alice' ? ALICE : undefined),
      authenticate: async () => {
        refusals++;
        return E.left({ code: 'UNAUTHENTICATED' as const, message: 'the bearer token is not valid' });
      },
    } as unknown as ApiDeps['access'];
    return { access, refusals: () => refusals };
  };
  const codeOf = (answer: Awaited<ReturnType<Authenticator['authenticate']>>) => (E.isLeft(answer) ? answer.left.code : answer.right.id);

  it('given an address past its limit, when a known token arrives from it, then the token goes through', async () => {
    const { access, refusals } = aliceOnly();
    const authenticator = new Authenticator(access, { windowMs: 60_000, limit: 2 });
    const sent = ['Bearer mallory', 'Bearer mallory', 'Bearer mallory', 'Bearer alice'];
    const codes = [];
    for (const header of sent) codes.push(codeOf(await authenticator.authenticate(header, '192.0.2.10')));
    expect(codes).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'RATE_LIMITED', 'alice']);
    expect(refusals()).toBe(2);
  });

  it('counts requests without a header with refused tokens, against the same limit', async () => {
    const { access, refusals } = aliceOnly();
    const authenticator = new Authenticator(access, { windowMs: 60_000, limit: 2 });
    const sent = [undefined, 'Bearer mallory', undefined, 'Bearer mallory'];
    const codes = [];
    for (const header of sent) codes.push(codeOf(await authenticator.authenticate(header, '192.0.2.11')));
    expect(codes).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'RATE_LIMITED', 'RATE_LIMITED']);
    expect(refusals()).toBe(2);
    // Another address has a window of its own.
    expect(codeOf(await authenticator.authenticate(undefined, '192.0.2.12'))).toBe('UNAUTHENTICATED');
  });
});
