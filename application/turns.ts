/**
 * Work queued per key: each runs after everything queued before it on its key, whatever became of
 * that. A key's queue, with the state kept beside it, goes once it is empty, so keys no longer used
 * leave nothing behind.
 */
export class Turns<K, S = undefined> {
  private readonly queues = new Map<K, { tail: Promise<unknown>; readonly state: S }>();

  constructor(private readonly initial: () => S = () => undefined as S) {}

  /** `arrive` sees the key's state as it stands when the work is queued, and gives the work. */
  run<A>(key: K, arrive: (state: S) => () => Promise<A>): Promise<A> {
    const queue = this.queues.get(key) ?? { tail: Promise.resolve(), state: this.initial() };
    this.queues.set(key, queue);
    const run = queue.tail.then(arrive(queue.state));
    // The caller gets the work's failure; the next in the queue still runs.
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    queue.tail = tail;
    void tail.then(() => {
      if (queue.tail === tail) this.queues.delete(key);
    });
    return run;
  }
}
