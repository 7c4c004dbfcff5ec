import { countDifferences } from '../qkd/bits';
import { CascadeVariant, keyParityOracle, planCascade, reconcile } from '../qkd/cascade';
import { binaryEntropy } from '../qkd/entropy';
import { randomBits, seededRandom, uniform } from '../qkd/random';
import { toeplitzHash, toeplitzSeedLength } from '../qkd/toeplitz';
import { median } from './measure';

// Cascade efficiency, frame error rate and speed on 10,000-bit frames, and Toeplitz throughput,
// one JSON line each. Baselines are published figures, named in each line: Martinez-Mateo et
// al. 2015 for f and frame error rate, a compiled Cascade's 1.1 ms per frame, numpy's FFT
// Toeplitz hashing at 11 Mbit/s. f = disclosed / (n h(e / n)) with e the frame's actual errors.
// Everything runs on one thread. Timed lines give the wall clock as `value` and, as `cpu`, the
// same figure from the process's CPU time, which on a shared machine leaves out the time other
// processes held the core.

interface Line {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: number;
  readonly ratio: number;
  readonly cpu?: number;
}

const FRAME_BITS = 10_000;
// Enough frames to tell a frame error rate of 1e-3 from zero.
const FRAMES = 1000;
const QBERS = [0.01, 0.02, 0.05, 0.08, 0.1];
const PUBLISHED_F: Record<CascadeVariant, readonly number[]> = {
  original: [1.14, 1.15, 1.18, 1.21, 1.21],
  optimized: [1.045, 1.04, 1.045, 1.05, 1.057],
};
const PUBLISHED_FER: Record<CascadeVariant, number> = { original: 1e-3, optimized: 5e-4 };
const COMPILED_MS_PER_FRAME = 1.1;
const NUMPY_TOEPLITZ_MBITS = 11;

const round = (n: number, digits: number): number => Number(n.toFixed(digits));

const line = (name: string, value: number, unit: string, baseline: number, cpu?: number): Line => ({
  name,
  value: round(value, 4),
  unit,
  baseline,
  ratio: round(value / baseline, 3),
  ...(cpu === undefined ? {} : { cpu: round(cpu, 4) }),
});

/** What `work` returns and the milliseconds of wall clock and of process CPU time it took. */
const timed = <T>(work: () => T): { result: T; wall: number; cpu: number } => {
  const [started, cpuStarted] = [process.hrtime.bigint(), process.cpuUsage()];
  const result = work();
  const cpu = process.cpuUsage(cpuStarted);
  return { result, wall: Number(process.hrtime.bigint() - started) / 1e6, cpu: (cpu.user + cpu.system) / 1000 };
};

const print = (l: Line): void => console.log(JSON.stringify(l));

const benchCascade = (variant: CascadeVariant, qber: number, published: number): void => {
  const random = seededRandom(Math.round(qber * 1000));
  let [efficiency, failures, wall, cpu] = [0, 0, 0, 0];
  for (let frame = 0; frame < FRAMES; frame++) {
    const alice = randomBits(random, FRAME_BITS);
    const bob = alice.map((bit) => (uniform(random) < qber ? bit ^ 1 : bit));
    const errors = countDifferences(alice, bob);
    const { result, ...time } = timed(() => {
      const plan = planCascade(FRAME_BITS, qber, variant, random);
      return reconcile(bob, plan, keyParityOracle(alice, plan));
    });
    [wall, cpu] = [wall + time.wall, cpu + time.cpu];
    efficiency += result.disclosedBits / (FRAME_BITS * binaryEntropy(errors / FRAME_BITS));
    if (countDifferences(alice, result.corrected) > 0) failures++;
  }
  const at = `${variant} Cascade, QBER ${qber * 100}%, ${FRAMES} frames of ${FRAME_BITS} bits`;
  print(line(`${at}: efficiency f (baseline: Martinez-Mateo 2015)`, efficiency / FRAMES, 'f', published));
  print(line(`${at}: frame error rate (baseline: Martinez-Mateo 2015)`, failures / FRAMES, 'frames', PUBLISHED_FER[variant]));
  print(line(`${at}: time per frame (baseline: compiled Cascade)`, wall / FRAMES, 'ms', COMPILED_MS_PER_FRAME, cpu / FRAMES));
};

const benchToeplitz = (inputBits: number): void => {
  const random = seededRandom(inputBits);
  const outputBits = inputBits / 2;
  const rate = (milliseconds: number): number => inputBits / milliseconds / 1e3;
  const [wallRates, cpuRates]: number[][] = [[], []];
  // Runs in the first second build the transform's tables and let the compiler settle; the
  // median of the next seven counts.
  for (let warming = 0; wallRates.length < 7; ) {
    const [seed, input] = [randomBits(random, toeplitzSeedLength(inputBits, outputBits)), randomBits(random, inputBits)];
    const time = timed(() => toeplitzHash(seed, input, outputBits));
    if (warming < 1000) warming += time.wall;
    else {
      wallRates.push(rate(time.wall));
      cpuRates.push(rate(time.cpu));
    }
  }
  print(line(`Toeplitz hashing of ${inputBits} bits to ${outputBits} (baseline: numpy FFT, one core)`, median(wallRates), 'Mbit/s', NUMPY_TOEPLITZ_MBITS, median(cpuRates)));
};

for (const variant of ['original', 'optimized'] as const) QBERS.forEach((q, i) => benchCascade(variant, q, PUBLISHED_F[variant][i]));
for (const bits of [100_000, 1_000_000]) benchToeplitz(bits);
