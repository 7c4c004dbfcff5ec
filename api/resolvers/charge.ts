import { randomUUID } from 'node:crypto';
import * as E from 'fp-ts/Either';
import { chargeAggregate } from '../../domain/charge';
import { ApiContext, ResolverEnv } from '../context';
import { commandFailure } from '../errors';
import { allowed } from './access';
import { commandMutations } from './commands';

/**
 * chargeKeys: the kiosk's step 3.4 in one call. It is authorized as the reservation it starts (only
 * the charger that started the charge may), then the platform reserves, reads, records the delivery
 * with a keyed commitment, issues the range to the device, and hands the keys back: the only answer
 * of this API that holds key, sent to the kiosk that writes it to the device, and kept nowhere.
 */
const chargeKeys =
  ({ deps }: ResolverEnv) =>
  async (_parent: unknown, { input }: { input: { chargeId: string; bytes: number } }, context: ApiContext) => {
    const { principal } = context;
    const rangeId = `r-${randomUUID()}`;
    const sourceId = (await deps.charging.sourceOf(input.chargeId)) ?? 'none';
    const reservation = { sourceId, rangeId, length: input.bytes, chargeId: input.chargeId };
    const admit = () => allowed(deps.access.authorizeCommand(principal, { type: 'ReserveKeyRange', data: reservation }), context);
    await admit();
    if (principal === null) throw new Error('chargeKeys was authorized without a principal');
    // Checked again in the turns of the reservation and the delivery: a charger revoked while they waited gets no key.
    const delivered = await deps.charging.deliver({ id: principal.id, role: principal.role }, input.chargeId, input.bytes, rangeId, admit);
    if (E.isLeft(delivered)) throw commandFailure(delivered.left, undefined, () => 'send chargeKeys again if the charge still needs key');
    return { ...delivered.right, keys: delivered.right.keys.map(({ keyId, key }) => ({ keyId, key: key.toString('base64') })) };
  };

// Charges have no view of their own yet: their progress shows in the audit and in the key balances.
export const chargeResolvers = (env: ResolverEnv) => ({
  Mutation: { ...commandMutations(env, chargeAggregate), chargeKeys: chargeKeys(env) },
});
