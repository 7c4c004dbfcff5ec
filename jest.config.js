/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Test files that share PostgreSQL or Redis keep to their own schemas and key prefixes, so they may run in parallel.
  maxWorkers: 2,
  testTimeout: 30000,
};
