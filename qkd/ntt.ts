import { NTT_WASM_BASE64 } from './ntt-wasm';

/**
 * The transform kernels of qkd/ntt.wat, exact arithmetic modulo P = 25 * 2^22 + 1 (its header
 * states the bounds). Addresses are byte offsets into `memory`; lengths count 32-bit residues.
 */
export interface NttKernel {
  readonly memory: { readonly buffer: ArrayBuffer };
  /** Builds the tables transforms of length n (a power of two, 16 to 2^22) need; returns the first free address. */
  prepare(n: number): number;
  /** Grows the memory to at least `end` bytes. */
  ensure(end: number): void;
  /** Residues dst[i] = byte src[i] for i < count. */
  widen(dst: number, src: number, count: number): void;
  /** acc += F a .* F b (scaled by 2^-32, in the transform's own order); a and b are overwritten. */
  forwardProduct(a: number, b: number, acc: number, n: number): void;
  /** The inverse: acc becomes n 2^-32 times the cyclic convolution, read at -i mod n. */
  inverse(acc: number, n: number): void;
  /** Bytes out[i] for i < count: the parity of the exact convolution entry at (first - i) mod n. */
  parities(out: number, acc: number, n: number, first: number, count: number): void;
}

// The compiler's ES2022 and Node typings leave WebAssembly out; this is the part used here.
declare const WebAssembly: {
  Module: new (binary: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: object };
};

let kernel: NttKernel | undefined;

/** The kernels, compiled on first use: synchronously, so that hashing stays a plain function call. */
export const nttKernel = (): NttKernel => {
  kernel ??= new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(NTT_WASM_BASE64, 'base64'))).exports as NttKernel;
  return kernel;
};
