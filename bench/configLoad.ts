/**
 * `npm run bench:config`: how long loading a config file with many portals takes (`loadConfig`,
 * as the CLI calls it), at 1,000 and 10,000 portals, median of 5. The figure moved here from
 * test/config/load.test.ts, whose "under 2 s" assertion flaked on a loaded machine.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load.js';
import { ms, table } from './format.js';

const SIZES = [1_000, 10_000];
const RUNS = 5;

function portalsYaml(n: number): string {
  const lines = ['defaults:', '  clientId: app.bench.1', '  clientSecret: bench-secret-0123456789'];
  lines.push('portals:');
  for (let i = 0; i < n; i += 1) {
    lines.push(`  - url: https://p${i}.bitrix24.com/rest/`, `    refreshToken: rt-${i}-abcdefgh`);
  }
  return `${lines.join('\n')}\n`;
}

const dir = await mkdtemp(join(tmpdir(), 'b24-bench-config-'));
try {
  const rows: string[][] = [];
  for (const size of SIZES) {
    const file = join(dir, `monitor-${size}.yaml`);
    await writeFile(file, portalsYaml(size));
    const times: number[] = [];
    for (let run = 0; run < RUNS; run += 1) {
      const started = performance.now();
      const result = loadConfig({ env: { MONITOR_CONFIG: file }, cwd: dir });
      times.push(performance.now() - started);
      if (!result.ok)
        throw new Error(
          `the generated config is invalid: ${JSON.stringify(result.problems.slice(0, 1))}`,
        );
    }
    times.sort((a, b) => a - b);
    rows.push([String(size), ms(times[Math.floor(RUNS / 2)] ?? NaN), ms(times[0] ?? NaN)]);
  }
  console.log(table(['portals', 'median', 'best'], rows, ['right', 'right', 'right']));
  console.log(
    `\nload average: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(', ')}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
