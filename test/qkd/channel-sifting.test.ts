import { ChannelAuthenticationError, createChannel } from '../../qkd/channel';
import { simulateLink } from '../../qkd/link';
import { seededRandom } from '../../qkd/random';
import { sift } from '../../qkd/sifting';

const key = new Uint8Array(32).fill(7);

describe('authenticated channel', () => {
  it('delivers an untouched message', () => {
    const channel = createChannel(key);
    expect(Array.from(channel.bob.receive(channel.alice.send(Uint8Array.of(1, 2, 3))))).toEqual([1, 2, 3]);
  });

  it('rejects a tampered payload, a replay and a reflected message', () => {
    const channel = createChannel(key);
    const message = channel.alice.send(Uint8Array.of(1, 2, 3));
    const tampered = { ...message, payload: Uint8Array.of(1, 2, 4) };
    expect(() => channel.bob.receive(tampered)).toThrow(ChannelAuthenticationError);
    channel.bob.receive(message);
    expect(() => channel.bob.receive(message)).toThrow(/sequence/);
    expect(() => channel.alice.receive(channel.alice.send(Uint8Array.of(9)))).toThrow(/claiming/);
  });

  it('rejects a message sealed under another key', () => {
    const [ours, theirs] = [createChannel(key), createChannel(new Uint8Array(32).fill(8))];
    expect(() => ours.bob.receive(theirs.alice.send(Uint8Array.of(5)))).toThrow(/MAC/);
  });
});

describe('sifting', () => {
  it('keeps exactly the clicked pulses whose bases match', () => {
    const link = simulateLink(
      { pulses: 5000, lengthKm: 5, lossDbPerKm: 0.2, detectorEfficiency: 0.6, darkCountProbability: 0.01, misalignment: 0.03, eavesdropFraction: 0 },
      seededRandom(11),
    );
    const sifted = sift(link, createChannel(key));
    const expected: number[] = [];
    for (let i = 0; i < 5000; i++) if (link.detected[i] === 1 && link.aliceBases[i] === link.bobBases[i]) expected.push(i);
    expect(Array.from(sifted.alice)).toEqual(expected.map((i) => link.aliceBits[i]));
    expect(Array.from(sifted.bob)).toEqual(expected.map((i) => link.bobBits[i]));
  });
});
