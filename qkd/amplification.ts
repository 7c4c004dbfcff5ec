import { binaryEntropy } from './entropy';

// Final key length from the leftover hash lemma. For n reconciled bits whose QBER is at most
// Q_U (the estimation's upper bound), Eve's min-entropy about them is at least n (1 - h(Q_U))
// (the phase-error rate of BB84 is bounded by the same Q_U). Every parity Cascade disclosed and
// every verification tag bit comes off, and 2 log2(1 / eps_PA) pays for the hash's distance
// from uniform:
//   l = floor( n (1 - h(Q_U)) - leak_EC - leak_verify - 2 log2(1 / eps_PA) ).

export interface LengthInputs {
  readonly reconciledBits: number;
  readonly qberUpperBound: number;
  readonly disclosedParityBits: number;
  readonly verificationBits: number;
  readonly epsilonPA: number;
}

/** l of the formula above, 0 when nothing can be extracted. */
export const finalKeyLength = (i: LengthInputs): number => {
  if (!(i.epsilonPA > 0 && i.epsilonPA < 1)) throw new RangeError(`epsilonPA must be in (0, 1), got ${i.epsilonPA}`);
  const minEntropy = i.reconciledBits * (1 - binaryEntropy(i.qberUpperBound));
  const length = Math.floor(minEntropy - i.disclosedParityBits - i.verificationBits - 2 * Math.log2(1 / i.epsilonPA));
  return Math.max(0, length);
};
