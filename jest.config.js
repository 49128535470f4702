/**
 * Two projects: `unit` (specs beside the code in libs/) and `e2e` (cross-process tests in test/, which
 * spawn the built apps from dist/, so `npm test` builds first).
 */
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testEnvironment: 'node',
  moduleNameMapper: {
    '^@app/gateway(|/.*)$': '<rootDir>/libs/gateway/src/$1',
  },
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', rootDir: __dirname, roots: ['<rootDir>/libs/', '<rootDir>/apps/'], testRegex: '.*\\.spec\\.ts$' },
    { ...common, displayName: 'e2e', rootDir: __dirname, roots: ['<rootDir>/test/'], testRegex: '.*\\.e2e-spec\\.ts$', setupFilesAfterEnv: ['<rootDir>/test/support/e2e-setup.ts'] },
  ],
};
