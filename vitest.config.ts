import { defineConfig } from 'vitest/config';

// `npm run test:soak` (SOAK=1) runs the long multi-process tests (`*.soak.test.ts`);
// `npm test` runs everything else.
const soak = process.env['SOAK'] === '1';

export default defineConfig({
  test: {
    include: soak ? ['test/**/*.soak.test.ts'] : ['test/**/*.test.ts'],
    exclude: soak ? ['**/node_modules/**'] : ['**/node_modules/**', 'test/**/*.soak.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
