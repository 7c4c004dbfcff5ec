import { createHmac, timingSafeEqual } from 'node:crypto';

// The classical channel is authenticated with HMAC-SHA256 under a pre-shared key, not a
// Wegman-Carter tag: computationally secure rather than information-theoretically, which the
// issue accepts. Each tag covers the sender, a per-direction sequence number and the payload, so
// a changed, reordered, replayed or reflected message fails its check.

export type Party = 'alice' | 'bob';

export interface SealedMessage {
  readonly from: Party;
  readonly sequence: number;
  readonly payload: Uint8Array;
  readonly tag: Uint8Array;
}

export class ChannelAuthenticationError extends Error {
  constructor(detail: string) {
    super(`classical message rejected: ${detail}; the channel is being tampered with, so abort this session and discard its key`);
    this.name = 'ChannelAuthenticationError';
  }
}

export interface ChannelEnd {
  send(payload: Uint8Array): SealedMessage;
  receive(message: SealedMessage): Uint8Array;
}

export interface Channel {
  readonly alice: ChannelEnd;
  readonly bob: ChannelEnd;
  /** Messages sealed so far in both directions. */
  messages(): number;
}

const MIN_KEY_BYTES = 32;

const tagOf = (key: Uint8Array, from: Party, sequence: number, payload: Uint8Array): Buffer => {
  const header = Buffer.alloc(5);
  header.writeUInt8(from === 'alice' ? 0 : 1, 0);
  header.writeUInt32BE(sequence, 1);
  return createHmac('sha256', key).update(header).update(payload).digest();
};

/** Both ends of one session's channel, sharing the pre-shared authentication key. */
export const createChannel = (key: Uint8Array): Channel => {
  if (key.length < MIN_KEY_BYTES) throw new RangeError(`channel authentication key must be at least ${MIN_KEY_BYTES} bytes, got ${key.length}`);
  const secret = Uint8Array.from(key);
  let sealed = 0;
  const end = (self: Party): ChannelEnd => {
    const peer: Party = self === 'alice' ? 'bob' : 'alice';
    let sent = 0;
    let expected = 0;
    return {
      send: (payload) => {
        sealed++;
        const sequence = sent++;
        return { from: self, sequence, payload: Uint8Array.from(payload), tag: tagOf(secret, self, sequence, payload) };
      },
      receive: (message) => {
        if (message.from !== peer) throw new ChannelAuthenticationError(`${self} received a message claiming to come from ${message.from}`);
        if (message.sequence !== expected) {
          throw new ChannelAuthenticationError(`expected sequence ${expected} from ${peer}, got ${message.sequence}`);
        }
        const good = tagOf(secret, message.from, message.sequence, message.payload);
        if (message.tag.length !== good.length || !timingSafeEqual(good, message.tag)) {
          throw new ChannelAuthenticationError(`message ${message.sequence} from ${peer} failed its MAC check`);
        }
        expected++;
        return message.payload;
      },
    };
  };
  return { alice: end('alice'), bob: end('bob'), messages: () => sealed };
};
