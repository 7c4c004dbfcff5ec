import { ANONYMOUS } from '../principal/fields';

export const ACCESS_STREAM_PREFIX = 'access';

/** One stream per principal, and one for requests without a known principal. */
export const accessStreamOf = (principalId: string | null): string =>
  `${ACCESS_STREAM_PREFIX}-${principalId ?? ANONYMOUS}`;

export { AccessDenialReason, AccessDenied, accessEventCodecs } from './events';
export type { AccessEvent } from './events';
