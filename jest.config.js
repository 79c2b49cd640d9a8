/** Tests run the TypeScript sources directly; `npm test` type-checks everything first with tsc. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  testTimeout: 30000,
  // Each test file owns its servers and temp dirs; leaks show up as open handles.
  detectOpenHandles: false,
};
