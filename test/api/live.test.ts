import { EventEmitter } from 'node:events';
import { live } from '../../api/resolvers/live';

const source = () => {
  const emitter = new EventEmitter();
  return {
    emitter,
    listen: (push: (n: number) => void) => {
      emitter.on('n', push);
      return () => emitter.off('n', push);
    },
    emit: (n: number) => emitter.emit('n', n),
  };
};

describe('a live subscription iterator', () => {
  it('yields accepted items in order, whether they arrive before or after the consumer asks', async () => {
    const s = source();
    const items = live(s.listen, (n) => n % 2 === 0, 10);
    s.emit(2);
    s.emit(3);
    s.emit(4);
    const pending = items.next();
    expect(await pending).toEqual({ value: 2, done: false });
    expect(await items.next()).toEqual({ value: 4, done: false });
    const waiting = items.next();
    s.emit(6);
    expect(await waiting).toEqual({ value: 6, done: false });
    await items.return?.();
  });

  it('removes its listener and ends a pending next the moment the client unsubscribes', async () => {
    const s = source();
    const items = live(s.listen, () => true, 10);
    expect(s.emitter.listenerCount('n')).toBe(1);
    const waiting = items.next();
    await items.return?.();
    expect(s.emitter.listenerCount('n')).toBe(0);
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(await items.next()).toEqual({ value: undefined, done: true });
  });

  it('ends a subscriber that falls too far behind with SUBSCRIBER_TOO_SLOW instead of buffering without bound', async () => {
    const s = source();
    const items = live(s.listen, () => true, 3);
    for (let n = 0; n < 5; n++) s.emit(n);
    expect(s.emitter.listenerCount('n')).toBe(0);
    await expect(items.next()).rejects.toMatchObject({ extensions: { code: 'SUBSCRIBER_TOO_SLOW' } });
    expect(await items.next()).toEqual({ value: undefined, done: true });
  });
});
