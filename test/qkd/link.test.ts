import { LinkParameters, simulateLink, transmittance } from '../../qkd/link';
import { seededRandom } from '../../qkd/random';

const link: LinkParameters = { pulses: 100_000, lengthKm: 10, lossDbPerKm: 0.2, detectorEfficiency: 0.5, darkCountProbability: 0, misalignment: 0.02, eavesdropFraction: 0 };

const siftedQber = (p: LinkParameters, seed: number): { detections: number; qber: number } => {
  const run = simulateLink(p, seededRandom(seed));
  let [detections, kept, errors] = [0, 0, 0];
  for (let i = 0; i < p.pulses; i++) {
    detections += run.detected[i];
    if (run.detected[i] === 1 && run.aliceBases[i] === run.bobBases[i]) {
      kept++;
      errors += run.aliceBits[i] ^ run.bobBits[i];
    }
  }
  return { detections, qber: errors / kept };
};

describe('BB84 link', () => {
  it('detects pulses at the loss and efficiency rate', () => {
    const { detections } = siftedQber(link, 1);
    expect(detections / link.pulses).toBeCloseTo(transmittance(link), 2);
  });

  it('gives a QBER near the misalignment without Eve, 25% with Eve on every pulse, p/4 on a fraction p', () => {
    expect(siftedQber(link, 2).qber).toBeCloseTo(0.02, 2);
    expect(Math.abs(siftedQber({ ...link, misalignment: 0, eavesdropFraction: 1 }, 3).qber - 0.25)).toBeLessThan(0.015);
    expect(Math.abs(siftedQber({ ...link, misalignment: 0, eavesdropFraction: 0.4 }, 4).qber - 0.1)).toBeLessThan(0.015);
  });

  it('turns dark counts into random bits', () => {
    const dark = { ...link, detectorEfficiency: 0, darkCountProbability: 0.5, misalignment: 0 };
    expect(Math.abs(siftedQber(dark, 5).qber - 0.5)).toBeLessThan(0.02);
  });

  it('rejects a probability outside [0, 1] naming the field', () => {
    expect(() => simulateLink({ ...link, misalignment: 1.5 }, seededRandom(1))).toThrow(/misalignment/);
  });
});
