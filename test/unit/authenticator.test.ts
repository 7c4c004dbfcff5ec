import * as E from 'fp-ts/Either';
import { Authenticator } from '../../api/authentication';
import { ApiDeps } from '../../api/context';

// The limit on refused tokens per address, around an access check that takes its time (a read of
// the log's tail): a stand-in for AccessControl, which the API tests exercise whole.
describe('the refused-token limit', () => {
  it('given a new address, when a burst of unknown tokens arrives at once, then only the limit is looked at', async () => {
    let looked = 0;
    const release: (() => void)[] = [];
    const access = {
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
      authenticate: async () => {
        if (storeDown) throw new Error('the event store cannot be reached');
        return E.right({ id: 'alice', name: 'Alice', role: 'AUDITOR' });
      },
    } as unknown as ApiDeps['access'];
    const authenticator = new Authenticator(access, { windowMs: 60_000, limit: 2 });
    for (let i = 0; i < 4; i++) await expect(authenticator.authenticate('Bearer qkmp_x', '192.0.2.9')).rejects.toThrow(/cannot be reached/);
    storeDown = false;
    expect(E.isRight(await authenticator.authenticate('Bearer qkmp_x', '192.0.2.9'))).toBe(true);
  });

  it('gives back the count of a token that works', async () => {
    const access = { authenticate: async () => E.right({ id: 'alice', name: 'Alice', role: 'AUDITOR' }) } as unknown as ApiDeps['access'];
    const authenticator = new Authenticator(access, { windowMs: 60_000, limit: 1 });
    for (let i = 0; i < 5; i++) expect(E.isRight(await authenticator.authenticate('Bearer qkmp_x', '192.0.2.8'))).toBe(true);
  });
});
