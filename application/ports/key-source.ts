/** What a key source measured for one block: counts and rates, never key bits. */
export interface BlockFigures {
  readonly siftedBits?: number;
  readonly disclosedBits?: number;
  /** Reconciliation efficiency f = disclosed / (n h(QBER)). */
  readonly efficiency?: number;
  readonly finalBits?: number;
}

export type KeyBlock =
  | {
      readonly ok: true;
      readonly blockId: string;
      readonly key: Buffer;
      /** The QBER the source estimated; 0 when the source does not report one (a remote KME). */
      readonly qber: number;
      readonly figures: BlockFigures;
    }
  | {
      readonly ok: false;
      readonly blockId: string;
      /** Why the block is not key, e.g. a QBER above the threshold: it is discarded and the abort recorded. */
      readonly reason: string;
      readonly qber?: number;
      readonly figures: BlockFigures;
    };

/** Where raw key comes from: a QKD link (simulated BB84) or a remote KME. */
export interface KeySource {
  /** The key pool it fills. */
  readonly sourceId: string;
  /** For log lines: what the source is, without secrets. */
  readonly description: string;
  /** The next block or blocks, together about `wantBytes` at most where the source can size them. */
  next(wantBytes: number): Promise<readonly KeyBlock[]>;
  close(): Promise<void>;
}
