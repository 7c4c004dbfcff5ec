#!/usr/bin/env node
// Runs jest, then prints the one closing line CI reads: "N passed, N failed[, N skipped]".
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

// Tests are transpiled without type checks (fast, per file), so the type checker runs first, once;
// the build then gives the end-to-end tests the same programs `npm start` runs.
const tsc = (...args) => spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), ...args], { stdio: 'inherit' });
if (tsc('--noEmit', '-p', '.').status !== 0 || tsc('-p', 'tsconfig.build.json').status !== 0) {
  console.log('type check or build failed: fix the errors above');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const results = path.join(__dirname, '..', '.test-results.json');
fs.rmSync(results, { force: true });
const jest = require.resolve('jest/bin/jest');
const run = spawnSync(process.execPath, [jest, '--json', `--outputFile=${results}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
});

let summary = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0, numRuntimeErrorTestSuites: 0 };
try {
  summary = JSON.parse(fs.readFileSync(results, 'utf8'));
} catch {
  summary.numRuntimeErrorTestSuites = 1; // jest died before writing results: count it as a failure
}
// A suite that fails to load runs no test; count it as a failure so it cannot hide.
const failed = summary.numFailedTests + summary.numRuntimeErrorTestSuites;
const skipped = summary.numPendingTests + summary.numTodoTests;
console.log(`${summary.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(run.status === 0 && failed === 0 ? 0 : 1);
