// The fast layer (npm run test:fast): pure modules, spec builders, the statistics, scoring and report renderers,
// the workflow state machine and the architecture's rules. No Postgres, no Temporal, no Python, no cluster:
// what a change to logic can be checked against in a minute, before the end-to-end suite (npm test).
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  globalSetup: undefined,
  globalTeardown: undefined,
  testMatch: [
    '<rootDir>/test/architecture.test.ts',
    '<rootDir>/test/config.test.ts',
    '<rootDir>/test/domain/**/*.test.ts',
    '<rootDir>/test/validation/**/*.test.ts',
    '<rootDir>/test/tasks/leaks.test.ts',
    '<rootDir>/test/activities/requirement-names.test.ts',
    '<rootDir>/test/activities/compute-result.test.ts',
    '<rootDir>/test/activities/heartbeat.test.ts',
    '<rootDir>/test/clients/*.test.ts',
    '<rootDir>/test/cli/terminal.test.ts',
    '<rootDir>/test/experiments/diff.test.ts',
    '<rootDir>/test/experiments/routing.test.ts',
    '<rootDir>/test/experiments/kubernetes/{canary,job-spec,status}.test.ts',
    '<rootDir>/test/papers/sections.test.ts',
    '<rootDir>/test/workflows/run-state.test.ts',
  ],
};
