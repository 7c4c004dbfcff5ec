import { countDifferences, packBits } from './bits';
import { finalKeyLength } from './amplification';
import { CascadeVariant, ParityOracle, keyParityOracle, planCascade, reconcile } from './cascade';
import { Channel, ChannelAuthenticationError, createChannel } from './channel';
import { abortReason, choosePositions, estimateQber, shannonLeakage, withoutSample } from './estimation';
import { LinkParameters, simulateLink } from './link';
import { RandomSource, cryptoRandom, randomBits } from './random';
import { sift } from './sifting';
import { toeplitzHash, toeplitzSeedLength } from './toeplitz';
import { chooseVerificationHash, DEFAULT_TAG_BITS, tagsMatch, verificationTag } from './verification';

export interface PipelineOptions {
  readonly link: LinkParameters;
  /** Pre-shared key that authenticates the classical channel (at least 32 bytes). */
  readonly authenticationKey: Uint8Array;
  readonly cascade: CascadeVariant;
  /** Fraction of sifted bits disclosed to estimate the QBER. */
  readonly sampleFraction: number;
  readonly epsilonPE: number;
  readonly epsilonPA: number;
  readonly verificationTagBits?: number;
  /** Seeded in tests; the OS CSPRNG when left out. */
  readonly random?: RandomSource;
}

/** What a run measured; counts only, never key bits. */
export interface PipelineReport {
  readonly pulses: number;
  readonly siftedBits: number;
  readonly sampleBits?: number;
  readonly qber?: number;
  readonly qberUpperBound?: number;
  readonly disclosedBits?: number;
  readonly roundTrips?: number;
  /** f = disclosed / (n h(QBER)), with the QBER measured on the reconciled frame. */
  readonly efficiency?: number;
  readonly finalBits?: number;
  readonly classicalMessages: number;
}

export type PipelineResult =
  | { readonly ok: true; readonly report: PipelineReport; readonly aliceKey: Uint8Array; readonly bobKey: Uint8Array }
  | { readonly ok: false; readonly report: PipelineReport; readonly reason: string };

/** Bob's parity questions and Alice's answers, each one a MAC'd message, so a forged answer aborts the run. */
const channelOracle = (alice: ParityOracle, channel: Channel): ParityOracle => ({
  parities: (queries) => {
    const asked = channel.alice.receive(channel.bob.send(new Uint8Array(queries.buffer, queries.byteOffset, queries.byteLength)));
    const heard = new Int32Array(Uint8Array.from(asked).buffer);
    return channel.bob.receive(channel.alice.send(alice.parities(heard)));
  },
});

/** simulate -> sift -> estimate -> reconcile -> verify -> amplify. A key comes out only if every step passes. */
export const runPipeline = (options: PipelineOptions): PipelineResult => {
  const random = options.random ?? cryptoRandom();
  const channel = createChannel(options.authenticationKey);
  const base = { pulses: options.link.pulses, siftedBits: 0, classicalMessages: 0 };
  const abort = (reason: string, report: Partial<PipelineReport>): PipelineResult => ({
    ok: false,
    reason,
    report: { ...base, ...report, classicalMessages: channel.messages() },
  });
  try {
    const link = simulateLink(options.link, random);
    const sifted = sift(link, channel);
    const siftedBits = sifted.alice.length;
    const sampleSize = Math.floor(siftedBits * options.sampleFraction);
    if (sampleSize < 1 || siftedBits - sampleSize < 2 * DEFAULT_TAG_BITS) {
      return abort(`only ${siftedBits} sifted bits: too few to estimate the QBER and keep a key; send more pulses or shorten the link`, { siftedBits });
    }
    const sample = choosePositions(siftedBits, sampleSize, random);
    channel.alice.receive(channel.bob.send(new Uint8Array(sample.buffer)));
    const estimate = estimateQber(sifted.alice, sifted.bob, sample, options.epsilonPE);
    const measured = { siftedBits, sampleBits: sampleSize, qber: estimate.qber, qberUpperBound: estimate.upper };
    const tooNoisy = abortReason(estimate);
    if (tooNoisy !== undefined) return abort(tooNoisy, measured);

    const [aliceFrame, bobFrame] = [withoutSample(sifted.alice, sample), withoutSample(sifted.bob, sample)];
    const plan = planCascade(bobFrame.length, estimate.qber, options.cascade, random);
    const reconciled = reconcile(bobFrame, plan, channelOracle(keyParityOracle(aliceFrame, plan), channel));

    const hash = chooseVerificationHash(aliceFrame.length, random, options.verificationTagBits ?? DEFAULT_TAG_BITS);
    const aliceTag = channel.bob.receive(channel.alice.send(verificationTag(aliceFrame, hash)));
    // Bob's count of the bits Cascade flipped is the frame's QBER, and costs no further disclosure.
    const frameQber = countDifferences(bobFrame, reconciled.corrected) / bobFrame.length;
    const reconciledReport = {
      ...measured,
      disclosedBits: reconciled.disclosedBits,
      roundTrips: reconciled.roundTrips,
      // An error-free frame has no Shannon yardstick, so it reports no efficiency.
      efficiency: frameQber > 0 ? reconciled.disclosedBits / shannonLeakage(bobFrame.length, frameQber) : undefined,
    };
    if (!tagsMatch(aliceTag, verificationTag(reconciled.corrected, hash))) {
      return abort('verification hashes differ: reconciliation left errors, so the frame is discarded and another block is drawn', reconciledReport);
    }

    const finalBits = finalKeyLength({
      reconciledBits: aliceFrame.length,
      qberUpperBound: estimate.upper,
      disclosedParityBits: reconciled.disclosedBits,
      verificationBits: hash.tagBits,
      epsilonPA: options.epsilonPA,
    });
    if (finalBits < 1) return abort('no secret bits remain after subtracting the disclosed information; send more pulses per frame', reconciledReport);
    const seed = randomBits(random, toeplitzSeedLength(aliceFrame.length, finalBits));
    channel.bob.receive(channel.alice.send(packBits(seed)));
    return {
      ok: true,
      report: { ...base, ...reconciledReport, finalBits, classicalMessages: channel.messages() },
      aliceKey: toeplitzHash(seed, aliceFrame, finalBits),
      bobKey: toeplitzHash(seed, reconciled.corrected, finalBits),
    };
  } catch (error) {
    if (error instanceof ChannelAuthenticationError) return abort(error.message, {});
    throw error;
  }
};

