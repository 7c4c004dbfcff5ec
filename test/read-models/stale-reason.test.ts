import { ViewsStaleError } from '../../application/ports/read-models';
import { InMemoryEventStore } from '../../infrastructure/event-store/memory';
import { MemoryViewStore } from '../../infrastructure/read-models/memory-view-store';
import { Projector } from '../../read-models/projector';
import { createReadModels } from '../../read-models/read-models';
import { platform } from './support/platform';
import { eventually } from './support/replay';

// Why the views are stale is told to every reader of them; a fault's own words are for the log.
describe('the reason the views are stale', () => {
  it("given a fault in a driver's words, when the views stop, then readers get a plain reason and the log the words", async () => {
    const store = new InMemoryEventStore();
    const views = new MemoryViewStore();
    const faults: string[] = [];
    // The retry waits long enough for the stopped views to be looked at, however loaded the machine.
    const projector = new Projector(store, views, { minRetryMs: 2000, maxRetryMs: 2000, onFault: (e) => faults.push(e.message) });
    const models = createReadModels(views, projector);
    const apply = jest.spyOn(views, 'apply').mockRejectedValue(new Error('ERR unexpected reply from 10.1.2.3:6379 (/srv/qkmp/views.js:88)'));
    try {
      await platform(store).activeDevice('UKEY-000001', 'grid-east', 'user-1');
      projector.start();
      await eventually(() => faults.length > 0);
      const reason = "the views stopped following the log after a fault the server's log names; they start over by themselves, retry shortly";
      expect(projector.status()).toMatchObject({ stale: true, reason });
      await expect(models.device('UKEY-000001')).rejects.toThrow(new ViewsStaleError(reason, 0));
      expect(faults[0]).toMatch(/10\.1\.2\.3:6379/);

      apply.mockRestore();
      await eventually(() => !projector.status().stale);
      expect((await models.device('UKEY-000001'))?.status).toBe('ACTIVE');
    } finally {
      apply.mockRestore();
      await projector.stop();
      await store.close();
    }
  });
});
