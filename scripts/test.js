#!/usr/bin/env node
// Runs jest, then prints the one closing line CI reads: "N passed, N failed[, N skipped]".
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

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
