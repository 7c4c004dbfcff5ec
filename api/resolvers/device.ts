import { DeviceFilter } from '../../application/ports/read-models';
import { deviceAggregate } from '../../domain/device';
import { Serial } from '../../domain/shared/types';
import { ApiContext, ResolverEnv } from '../context';
import { allowed } from './access';
import { commandMutations } from './commands';
import { AsOf, deviceHistory } from './device-history';
import { live } from './live';
import { checked, fromViews, pageOf, PageArgs, present, query } from './queries';

interface SerialArgs {
  readonly serial: string;
}

export const deviceResolvers = (env: ResolverEnv) => {
  const { deps } = env;
  const bySerial = ({ serial }: SerialArgs) => checked(Serial, 'serial', serial);
  const target = ({ serial }: SerialArgs) => serial;
  return {
    Query: {
      device: query(env, 'device', (args: SerialArgs) => deps.readModels.device(bySerial(args)), target),
      devices: query(env, 'devices', (args: PageArgs & { filter?: DeviceFilter | null }, context) =>
        deps.readModels.devices(present(args.filter), pageOf(args, context)),
      ),
      deviceBalance: query(
        env,
        'deviceBalance',
        (args: SerialArgs) => deps.readModels.deviceBalance(bySerial(args)),
        target,
      ),
      deviceHistory: query(
        env,
        'deviceHistory',
        (args: SerialArgs & { asOf?: AsOf | null }) => deviceHistory(deps, bySerial(args), args.asOf ?? {}),
        target,
      ),
    },
    Mutation: commandMutations(env, deviceAggregate),
    Subscription: {
      deviceChanged: {
        // Authorized as the device query for one serial, as the devices query for all of them.
        subscribe: async (_parent: unknown, { serial }: { serial?: string | null }, context: ApiContext) => {
          await allowed(
            serial == null
              ? deps.access.authorizeQuery(context.principal, 'devices')
              : deps.access.authorizeQuery(context.principal, 'device', serial),
            context,
          );
          const one = serial == null ? undefined : checked(Serial, 'serial', serial);
          return live<string>(
            (push) => deps.changes.onChange((change) => change.devices.forEach(push)),
            (changed) => one === undefined || changed === one,
            env.maxQueuedPerSubscription,
          );
        },
        // The projector names the devices it changed; each is read as the view has it when sent.
        resolve: (serial: string) => fromViews(() => deps.readModels.device(serial)),
      },
    },
  };
};
