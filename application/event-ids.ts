import { createHash } from 'node:crypto';

/**
 * The id of the index-th event a command appends, derived from the command id so that a retry of
 * the same decision (after a lost reply or a crash) re-appends the same ids and the store keeps
 * one copy. Formatted as an RFC 9562 version-8 (custom) UUID.
 */
export const eventIdFor = (commandId: string, index: number): string => {
  const h = createHash('sha256').update(`${commandId}\u0000${index}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};
