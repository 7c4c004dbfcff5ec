import { Turns } from '../../../application/turns';

describe('work queued per key', () => {
  it('runs the work of one key in the order it came, after a failure too, and keys side by side', async () => {
    const turns = new Turns<string>();
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = turns.run('a', () => async () => {
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push('a1');
      throw new Error('a1 failed');
    });
    const second = turns.run('a', () => async () => void order.push('a2'));
    const other = turns.run('b', () => async () => void order.push('b1'));
    await other;
    expect(order).toEqual(['b1']); // b did not wait for a
    releaseFirst();
    await expect(first).rejects.toThrow('a1 failed');
    await second;
    expect(order).toEqual(['b1', 'a1', 'a2']);
  });

  it('hands each work the state of its key as it stood when the work came, and starts afresh once the queue is empty', async () => {
    const turns = new Turns<string, { count: number }>(() => ({ count: 0 }));
    const seen: number[] = [];
    const bump = () =>
      turns.run('k', (state) => {
        seen.push(state.count);
        return async () => void state.count++;
      });
    await Promise.all([bump(), bump()]);
    expect(seen).toEqual([0, 0]);
    await new Promise((resolve) => setImmediate(resolve));
    await bump();
    expect(seen).toEqual([0, 0, 0]);
  });
});
