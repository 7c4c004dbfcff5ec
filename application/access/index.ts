// The access layer as the API and the command line use it.
export { AccessControl } from './access-control';
export type { AccessControlOptions, AccessError, Principal } from './access-control';
export { AccessCheckUnavailableError } from './errors';
export { commandPolicy, governedAggregates, queryOperations, queryPolicy } from './policy';
export type { CommandType, QueryOperation, Rule } from './policy';
export { createPrincipal, revokePrincipal, rotatePrincipalToken } from './principals';
export type { IssuedToken, NewPrincipal, Revoked } from './principals';
