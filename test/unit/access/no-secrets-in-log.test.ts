import { revokePrincipal, rotatePrincipalToken } from '../../../application/access/principals';
import { generateToken, hashToken, TOKEN_PREFIX } from '../../../application/access/tokens';
import { ok, platform, Platform, sampleCommand } from './fixture';

let p: Platform;
beforeEach(async () => {
  p = await platform();
});
afterEach(() => p.close());

describe('the event log after a session of issuing, using and refusing tokens', () => {
  it('holds no token, and a token hash only as tokenHash of PrincipalCreated or PrincipalTokenRotated', async () => {
    const tokens = Object.values(p.tokens).map((issued) => issued.token);
    const rotated = ok(await rotatePrincipalToken(p.bus, p.tokens.CHARGER.principalId));
    const revoked = ok(await revokePrincipal(p.bus, p.tokens.GATEWAY.principalId, 'host decommissioned'));
    await p.access.caughtUpTo(Math.max(rotated.position, revoked.position));
    const stranger = generateToken();
    tokens.push(rotated.token, stranger);

    // Refusals of every kind, each presenting a token.
    await p.access.authenticate(`Bearer ${stranger}`);
    await p.access.authenticate(`Token ${stranger}`);
    await p.access.authenticate(`Bearer ${p.tokens.GATEWAY.token}`);
    await p.access.authenticate(`Bearer ${p.tokens.CHARGER.token}`);
    await p.access.authorizeCommand(null, { type: 'InitializeDevice', data: { token: stranger } });
    await p.access.authorizeCommand(await p.principal('AUDITOR'), sampleCommand('InitializeDevice'));
    await p.access.authorizeQuery(null, 'audit', stranger);
    // A token pasted where an id belongs is a valid identifier, but is not recorded as the target.
    const auditor = await p.principal('AUDITOR');
    await p.access.authorizeCommand(auditor, { type: 'RevokeCharger', data: { chargerId: stranger, reason: 'x' } });
    await p.access.authorizeQuery(await p.principal('USER_ADMIN'), 'audit', stranger.toUpperCase());

    const log = await p.log();
    expect(log.filter((e) => e.type === 'AccessDenied')).toHaveLength(9);
    const hashes = new Set(tokens.map(hashToken));
    let hashesSeen = 0;
    for (const event of log) {
      const text = JSON.stringify(event);
      for (const token of tokens) {
        expect(text.toLowerCase()).not.toContain(token.slice(TOKEN_PREFIX.length).toLowerCase());
      }
      for (const hex of text.match(/[0-9a-f]{64}/g) ?? []) {
        if (!hashes.has(hex)) continue;
        hashesSeen++;
        expect(['PrincipalCreated', 'PrincipalTokenRotated']).toContain(event.type);
        expect((event.data as { tokenHash: string }).tokenHash).toBe(hex);
        expect(text.split(hex)).toHaveLength(2);
      }
    }
    // The five created and the one rotated; the stranger's never reached the log.
    expect(hashesSeen).toBe(6);
  });
});
