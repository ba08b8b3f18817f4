/**
 * Scrapes /metrics from a process of its own (so the scraper's work is not the monitor's,
 * and the parent's simulated portal does not delay it): sequential scrapes, then a burst of
 * concurrent ones. Latency is to the last byte of the body.
 */
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import type { ScrapeJob, ScrapeResult } from './protocol.js';
import { latencyStats as stats, round } from './stats.js';

export async function runScrapeJob(job: ScrapeJob): Promise<ScrapeResult> {
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: job.concurrency });
  let failures = 0;
  let body = '';
  const scrape = async (): Promise<number> => {
    const started = performance.now();
    const answer = await request(`${job.url}/metrics`, { dispatcher });
    const text = await answer.body.text();
    const ms = performance.now() - started;
    if (answer.statusCode !== 200) failures++;
    else body = text;
    return ms;
  };
  try {
    const sequential: number[] = [];
    for (let i = 0; i < job.sequential; i++) sequential.push(await scrape());
    const burst: number[] = [];
    const started = performance.now();
    let left = job.burst;
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        while (left > 0) {
          left--;
          burst.push(await scrape());
        }
      }),
    );
    const burstWallMs = performance.now() - started;
    const lines = body.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    const portals = new Set(
      lines
        .filter((line) => line.startsWith('b24_offline_up{'))
        .map((line) => /portal="([^"]*)"/.exec(line)?.[1]),
    );
    return {
      kind: 'scrape',
      sequential: stats(sequential),
      burst: { ...stats(burst), concurrency: job.concurrency, wallMs: round(burstWallMs, 1) },
      bodyBytes: Buffer.byteLength(body),
      series: lines.length,
      portals: portals.size,
      failures,
    };
  } finally {
    await dispatcher.close();
  }
}
