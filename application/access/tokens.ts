import { hash, randomBytes } from 'node:crypto';

/** Makes a leaked token recognisable to secret scanners and to people. */
export const TOKEN_PREFIX = 'qkmp_';

const TOKEN_BYTES = 32;
/** What follows the prefix: TOKEN_BYTES in base64url, unpadded. */
export const TOKEN_TEXT_LENGTH = Math.ceil((TOKEN_BYTES * 4) / 3);
const TOKEN = new RegExp(`^${TOKEN_PREFIX}[A-Za-z0-9_-]{${TOKEN_TEXT_LENGTH}}$`);
// RFC 6750: the scheme is case-insensitive, one or more spaces before the token.
const BEARER = /^bearer +(\S+) *$/i;

/** A new bearer token: 256 bits from the CSPRNG, base64url. Shown to its holder once, stored only as its hash. */
export const generateToken = (): string => TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');

/** What is stored and looked up instead of the token (see PrincipalCreated for why plain SHA-256 suffices). */
export const hashToken = (token: string): string => hash('sha256', token, 'hex');

/** The token of an `Authorization: Bearer <token>` header, if the header has that form and the token ours. */
export const bearerToken = (header: string): string | undefined => {
  const token = BEARER.exec(header)?.[1];
  return token !== undefined && TOKEN.test(token) ? token : undefined;
};

/** Whether text might carry a token, e.g. one a caller pasted into the wrong field: such text is never recorded. */
export const mayHoldToken = (text: string): boolean => text.toLowerCase().includes(TOKEN_PREFIX);

const HOLDS_TOKEN =
  `must not hold a bearer token (text with '${TOKEN_PREFIX}'): the log keeps a command's text for good; ` +
  'if a token was pasted here, rotate it (admin rotate) and send the command without it';

/** The fields of a command's data whose text might carry a token, each with the rule it breaks. */
export const tokenFields = (data: unknown, path = ''): { field: string; rule: string }[] => {
  if (typeof data === 'string') return mayHoldToken(data) ? [{ field: path, rule: HOLDS_TOKEN }] : [];
  if (typeof data !== 'object' || data === null) return [];
  return Object.entries(data).flatMap(([name, value]) => tokenFields(value, path === '' ? name : `${path}.${name}`));
};
