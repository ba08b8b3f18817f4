import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // long runs: `npm run test:soak` (vitest.soak.config.ts)
    exclude: ['test/**/*.soak.test.ts', '**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // builds the CLI once for every test that starts it as a process
    globalSetup: ['test/setup/cliEntry.ts'],
    // kills what a test file's child processes left running, even after a failure
    setupFiles: ['test/setup/children.ts'],
    pool: 'forks',
    // Tuned for a 2-core machine: many files spend seconds waiting on child processes, timers
    // and sockets rather than computing, so a third worker fills those waits; and a worker
    // keeps its module cache from file to file (no isolation: no file mocks modules or
    // changes globals; stubbed env is restored), which halves the time spent importing.
    maxWorkers: 3,
    isolate: false,
    unstubEnvs: true,
  },
});
