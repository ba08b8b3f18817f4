/**
 * Soak: the real daemon (`start`, a child process) watches a portal whose queue shows 1,000
 * new event names before every poll, 10,000 names in all (the issue saw 450,000 series and
 * 1.28 GB in 50 s). Series stay at the cap (500 names × 3 statuses + `other`), sums over
 * names equal the depth, and the daemon's RSS stays flat.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SimServer } from '../../src/sim/index.js';
import { portalEnv } from '../helpers/env.js';
import { freePort, waitFor } from '../helpers/processes.js';
import { parsePromText, valueOf, type Sample } from '../helpers/promText.js';
import { startMonitorCli } from './support.js';

const NAMES_PER_ROUND = 1_000;
const ROUNDS = 10;
const cleanup: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}

describe('10,000 rotating event names', () => {
  it('keep the daemon’s series and RSS bounded, the overflow under other', async () => {
    const sim = await SimServer.start();
    cleanup.push(() => sim.close());
    const portal = sim.addPortal('acme', { rateLimit: null });
    const dir = await mkdtemp(join(tmpdir(), 'b24-names-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const seed = portal.authorize('monitor');
    const port = await freePort();
    const run = await startMonitorCli(['start'], {
      ...portalEnv(sim, portal, {
        refreshToken: seed.refreshToken,
        accessToken: seed.accessToken,
        tokenFile: join(dir, 'acme.tokens.json'),
        name: 'acme',
      }),
      MONITOR_LISTEN: `127.0.0.1:${port}`,
      MONITOR_SCHEDULE: '* * * * * *',
      MONITOR_STRATEGY: 'scan',
      MONITOR_RATE_LIMIT_CAPACITY: '1000',
      MONITOR_RATE_LIMIT_PER_SECOND: '1000',
      LOG_LEVEL: 'warn',
    });
    cleanup.push(async () => {
      run.child.kill('SIGTERM');
      await run.exited;
    });
    const scrape = async (): Promise<Sample[]> =>
      parsePromText(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    const polls = (samples: Sample[]) =>
      valueOf(samples, 'b24_offline_polls_total', { portal: 'acme' }) ?? 0;
    const series: number[] = [];
    const rss: number[] = [];
    const exact: boolean[] = [];

    for (let round = 0; round < ROUNDS; round++) {
      // consumers took every row; rows of 1,000 new names arrive
      portal.queue().reserve(1_000_000);
      portal.queue().reserve(1_000_000, { error: true });
      portal.fill({
        counts: Object.fromEntries(
          Array.from({ length: NAMES_PER_ROUND }, (_, i) => [
            `ONROTATING${round * NAMES_PER_ROUND + i}`,
            { queued: 1 + (i % 3), error: i % 2 },
          ]),
        ),
      });
      // two polls started after the change: the second one saw it whole
      const before = polls(await waitFor(scrape, 10_000, 'the first scrape'));
      const samples = await waitFor(
        async () => {
          const s = await scrape();
          return polls(s) >= before + 2 ? s : undefined;
        },
        30_000,
        'two more polls',
      );
      const events = samples.filter((s) => s.name === 'b24_offline_events');
      const depth = valueOf(samples, 'b24_offline_queue_depth', { portal: 'acme' });
      series.push(events.length);
      exact.push(events.reduce((sum, s) => sum + s.value, 0) === depth);
      rss.push(rssMb(run.child.pid ?? 0));
    }

    process.stdout.write(
      `[soak] ${ROUNDS * NAMES_PER_ROUND} rotating names, daemon polling every second: ` +
        `b24_offline_events series after each round ${series.join(', ')}; ` +
        `daemon RSS MB ${rss.join(', ')}\n`,
    );
    expect(series.every((n) => n === 501 * 3)).toBe(true);
    expect(exact.every(Boolean)).toBe(true);
    expect(Math.max(...rss) - (rss[1] ?? 0)).toBeLessThan(40);
  });
});
