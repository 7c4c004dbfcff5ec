import { createHash } from 'node:crypto';
import { bearerToken, generateToken, hashToken, TOKEN_PREFIX } from '../../../application/access/tokens';
import { Sha256Hex } from '../../../domain/shared/types';

describe('bearer tokens', () => {
  it('carry 256 random bits in base64url behind a recognisable prefix', () => {
    const token = generateToken();
    expect(token).toMatch(/^qkmp_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url')).toHaveLength(32);
  });

  it('never repeat', () => {
    const tokens = new Set(Array.from({ length: 2000 }, generateToken));
    expect(tokens.size).toBe(2000);
  });

  it('are stored as the SHA-256 of the whole token, in the form the events accept', () => {
    const token = generateToken();
    const hash = hashToken(token);
    expect(hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(Sha256Hex.is(hash)).toBe(true);
    expect(hashToken(generateToken())).not.toBe(hash);
  });
});

describe('the Authorization header', () => {
  const token = generateToken();

  it.each([`Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`, `Bearer   ${token}`, `Bearer ${token} `])(
    'yields the token from %j',
    (header) => {
      expect(bearerToken(header)).toBe(token);
    },
  );

  it.each([
    ['an empty header', ''],
    ['no scheme', token],
    ['another scheme', `Basic ${token}`],
    ['no token', 'Bearer '],
    ['two tokens', `Bearer ${token} ${token}`],
    ['a token without the prefix', `Bearer ${token.slice(TOKEN_PREFIX.length)}`],
    ['a truncated token', `Bearer ${token.slice(0, -1)}`],
    ['a token with a character outside base64url', `Bearer ${token.slice(0, -1)}=`],
    ['a leading space', ` Bearer ${token}`],
  ])('yields nothing for %s', (_, header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});
