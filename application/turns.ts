/**
 * Work queued per key: each runs after everything queued before it on its key, whatever became of
 * that. A key's queue goes once it is empty, so keys no longer used leave nothing behind.
 */
export class Turns<K> {
  private readonly tails = new Map<K, Promise<unknown>>();

  run<A>(key: K, work: () => Promise<A>): Promise<A> {
    const run = (this.tails.get(key) ?? Promise.resolve()).then(work);
    // The caller gets the work's failure; the next in the queue still runs.
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return run;
  }
}
