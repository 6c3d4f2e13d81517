// Jest projects: `unit` is pure and fast (no Docker, no servers); `integration` uses the real
// local swarm, real SQLite files and real HTTP servers on loopback; `e2e` drives whole flows
// (bridge + fakes + plugin + swarm, and Chromium). Run one with `--selectProjects <name>`.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
      sourceMaps: 'inline',
    },
  ],
};

const common = {
  transform,
  extensionsToTreatAsEsm: ['.ts'],
  testEnvironment: 'node',
  moduleNameMapper: {
    '^@cc-ci/harness-core$': '<rootDir>/packages/harness-core/src/index.ts',
    '^@cc-ci/bridge$': '<rootDir>/packages/bridge/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  rootDir: '.',
};

export default {
  testTimeout: 30_000,
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/packages/*/src/**/*.test.ts',
        '<rootDir>/packages/*/test/unit/**/*.test.ts',
      ],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/packages/*/test/integration/**/*.test.ts',
        '<rootDir>/packages/*/test/contract/**/*.test.ts',
        '<rootDir>/test/integration/**/*.test.ts',
      ],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/packages/*/test/e2e/**/*.test.ts'],
    },
  ],
};
