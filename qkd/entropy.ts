/** Binary entropy h(q) = -q log2 q - (1 - q) log2 (1 - q), with h(0) = h(1) = 0. */
export const binaryEntropy = (q: number): number => (q <= 0 || q >= 1 ? 0 : -q * Math.log2(q) - (1 - q) * Math.log2(1 - q));
