import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

/**
 * The end-to-end files (whole polls against the simulated portal, the longest files) first.
 * A fresh clone has no durations cached, and the default order (larger files first) started
 * an 8-s e2e file last, so that it alone made the run's last 8 seconds.
 */
class EndToEndFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const e2e = (file: TestSpecification) => file.moduleId.includes('/test/e2e/');
    return [...sorted.filter(e2e), ...sorted.filter((file) => !e2e(file))];
  }
}

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
    sequence: { sequencer: EndToEndFirst },
  },
});
