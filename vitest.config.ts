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
    pool: 'forks',
    maxWorkers: 2,
  },
});
