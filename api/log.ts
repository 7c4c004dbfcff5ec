/**
 * One structured line per event. Callers pass names, ids and error descriptions only: never
 * variables, headers or tokens.
 */
export type Log = (event: string, fields: Readonly<Record<string, unknown>>) => void;

export const stderrLog: Log = (event, fields) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', event, ...fields })}\n`);
};

/** An error as a log field: what a maintainer needs to find the fault. */
export const describeError = (error: unknown): Readonly<Record<string, unknown>> | string =>
  error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error);
