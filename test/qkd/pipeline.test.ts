import { PipelineOptions, runPipeline } from '../../qkd/pipeline';
import { seededRandom } from '../../qkd/random';

const options = (seed: number, eavesdropFraction: number): PipelineOptions => ({
  link: { pulses: 200_000, lengthKm: 10, lossDbPerKm: 0.2, detectorEfficiency: 0.6, darkCountProbability: 1e-5, misalignment: 0.015, eavesdropFraction },
  authenticationKey: new Uint8Array(32).fill(3),
  cascade: 'optimized',
  sampleFraction: 0.1,
  epsilonPE: 1e-6,
  epsilonPA: 1e-10,
  random: seededRandom(seed),
});

describe('BB84 pipeline', () => {
  it('agrees a key on both sides without an eavesdropper and reports every figure', () => {
    const result = runPipeline(options(1, 0));
    if (!result.ok) throw new Error(result.reason);
    const { report } = result;
    expect(Array.from(result.bobKey)).toEqual(Array.from(result.aliceKey));
    expect(result.aliceKey.length).toBe(report.finalBits);
    expect(report.finalBits).toBeGreaterThan(0);
    expect(report.siftedBits).toBeGreaterThan(30_000);
    expect(report.qber).toBeGreaterThan(0.005);
    expect(report.qber).toBeLessThan(0.03);
    expect(report.efficiency).toBeGreaterThan(1);
    expect(report.efficiency).toBeLessThan(1.3);
    expect(report.classicalMessages).toBe(2 + 1 + 2 * (report.roundTrips ?? 0) + 1 + 1);
  });

  it('aborts with an eavesdropper on every pulse, at a QBER near 25%', () => {
    const result = runPipeline(options(2, 1));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(Math.abs((result.report.qber ?? 0) - 0.26)).toBeLessThan(0.02);
    expect(result.reason).toMatch(/above the 11% limit/);
    expect(result).not.toHaveProperty('aliceKey');
  });
});
