import { defineConfig } from 'vitest/config';

/**
 * `npm run test:soak`: the long runs (files named `*.soak.test.ts`), kept out of `npm test`
 * so that the fast loop stays fast. `.ci/run` runs both.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.soak.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    // builds the CLI once for every test that starts it as a process
    globalSetup: ['test/setup/cliEntry.ts'],
    // kills what a test file's child processes left running, even after a failure
    setupFiles: ['test/setup/children.ts'],
    pool: 'forks',
    maxWorkers: 1,
  },
});
