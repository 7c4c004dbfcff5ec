import { Turns } from '../../../application/turns';

describe('work queued per key', () => {
  it('runs the work of one key in the order it came, after a failure too, and keys side by side', async () => {
    const turns = new Turns<string>();
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = turns.run('a', async () => {
      await new Promise<void>((resolve) => (releaseFirst = resolve));
      order.push('a1');
      throw new Error('a1 failed');
    });
    const second = turns.run('a', async () => void order.push('a2'));
    const other = turns.run('b', async () => void order.push('b1'));
    await other;
    expect(order).toEqual(['b1']); // b did not wait for a
    releaseFirst();
    await expect(first).rejects.toThrow('a1 failed');
    await second;
    expect(order).toEqual(['b1', 'a1', 'a2']);
  });

  it('runs work queued on a key after its queue emptied, still in the order it came', async () => {
    const turns = new Turns<string>();
    const order: number[] = [];
    await turns.run('k', async () => void order.push(1));
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([turns.run('k', async () => void order.push(2)), turns.run('k', async () => void order.push(3))]);
    expect(order).toEqual([1, 2, 3]);
  });
});
