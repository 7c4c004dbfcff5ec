import { ChannelEnd, SealedMessage } from './channel';
import { LinkRecord } from './link';

export interface SiftedKeys {
  readonly alice: Uint8Array;
  readonly bob: Uint8Array;
}

/**
 * Sifting over the authenticated channel: Bob announces which pulses clicked and in which basis
 * (one byte per pulse: 0 no click, 1 rectilinear, 2 diagonal); Alice answers with one byte per
 * click saying whether her basis matched. Bits never cross the channel.
 */
export const sift = (link: LinkRecord, channel: { alice: ChannelEnd; bob: ChannelEnd }): SiftedKeys => {
  const announcement = new Uint8Array(link.detected.length);
  for (let i = 0; i < announcement.length; i++) announcement[i] = link.detected[i] === 1 ? 1 + link.bobBases[i] : 0;
  const fromBob: SealedMessage = channel.bob.send(announcement);

  const heard = channel.alice.receive(fromBob);
  if (heard.length !== link.aliceBases.length) throw new RangeError(`Bob announced ${heard.length} pulses, Alice sent ${link.aliceBases.length}`);
  const clicks: number[] = [];
  for (let i = 0; i < heard.length; i++) if (heard[i] !== 0) clicks.push(i);
  const reply = Uint8Array.from(clicks, (i) => (heard[i] - 1 === link.aliceBases[i] ? 1 : 0));
  const aliceKeeps = Int32Array.from(clicks.filter((_, k) => reply[k] === 1));
  const fromAlice = channel.alice.send(reply);

  const matches = channel.bob.receive(fromAlice);
  const bobClicks: number[] = [];
  for (let i = 0; i < link.detected.length; i++) if (link.detected[i] === 1) bobClicks.push(i);
  if (matches.length !== bobClicks.length) throw new RangeError(`Alice answered ${matches.length} clicks, Bob had ${bobClicks.length}`);
  const bobKeeps = Int32Array.from(bobClicks.filter((_, k) => matches[k] === 1));

  return { alice: Uint8Array.from(aliceKeeps, (i) => link.aliceBits[i]), bob: Uint8Array.from(bobKeeps, (i) => link.bobBits[i]) };
};
