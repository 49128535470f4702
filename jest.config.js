/**
 * Three projects: `unit` (specs beside the code in packages/), `e2e` (cross-process tests in test/, which
 * spawn the built apps from dist/, so `npm test` builds first; the fault scenarios in test/faults/ are among them)
 * and `fuzz` (seeded fuzz targets of the decoders in test/fuzz/, in process). FAULT_SCALE=long makes the last two
 * larger (`npm run test:faults`, `npm run test:fuzz`).
 */
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testEnvironment: 'node',
  // test/consumers: apps installed and built in a temporary directory by consumer-apps.e2e-spec.ts, never here.
  modulePathIgnorePatterns: ['<rootDir>/packages/[^/]+/dist/', '<rootDir>/test/consumers/'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/consumers/'],
  moduleNameMapper: {
    // The package by its name, as the apps import it, but from its sources (no build needed for the unit
    // project; the e2e project's child processes run the built apps, which load packages/*/dist).
    '^nest-gateway-worker$': '<rootDir>/packages/nest-gateway-worker/src/index.ts',
    '^nest-gateway-worker/internal$': '<rootDir>/packages/nest-gateway-worker/src/internal.ts',
    '^nest-gateway-worker-client$': '<rootDir>/packages/nest-gateway-worker-client/src/index.ts',
    // The client package is an ES module package: its sources import each other as './name.js' (what Node's ESM
    // resolution needs in the built files); here those are the .ts files.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      rootDir: __dirname,
      roots: ['<rootDir>/packages/', '<rootDir>/apps/', '<rootDir>/scripts/'],
      testRegex: '.*\\.spec\\.ts$',
    },
    {
      ...common,
      displayName: 'e2e',
      rootDir: __dirname,
      roots: ['<rootDir>/test/'],
      testRegex: '.*\\.e2e-spec\\.ts$',
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-setup.ts'],
    },
    {
      ...common,
      displayName: 'fuzz',
      rootDir: __dirname,
      roots: ['<rootDir>/test/fuzz/'],
      testRegex: '.*\\.fuzz-spec\\.ts$',
    },
  ],
};
