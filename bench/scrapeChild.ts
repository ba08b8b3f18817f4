/**
 * Scrapes /metrics from a process of its own (so the scraper's work is not the monitor's,
 * and the parent's simulated portal does not delay it): sequential scrapes, then a burst of
 * concurrent ones, first plain, then with `Accept-Encoding: gzip` as Prometheus sends it.
 * Latency is to the last byte of the body (compressed bytes for gzip: the scraper inflates).
 */
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { Agent, request } from 'undici';
import type { BurstStats, LatencyStats, ScrapeJob, ScrapeResult } from './protocol.js';
import { latencyStats as stats, round } from './stats.js';

interface Pass {
  readonly sequential: LatencyStats;
  readonly burst: BurstStats;
  /** The last body received, as sent. */
  readonly body: Buffer;
  readonly failures: number;
}

function seriesOf(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

async function pass(job: ScrapeJob, dispatcher: Agent, gzip: boolean): Promise<Pass> {
  let failures = 0;
  let body = Buffer.alloc(0);
  const headers = gzip ? { 'accept-encoding': 'gzip' } : {};
  const scrape = async (): Promise<number> => {
    const started = performance.now();
    const answer = await request(`${job.url}/metrics`, { dispatcher, headers });
    const bytes = Buffer.from(await answer.body.arrayBuffer());
    const ms = performance.now() - started;
    const encoded = answer.headers['content-encoding'] === 'gzip';
    if (answer.statusCode !== 200 || encoded !== gzip) failures++;
    else body = bytes;
    return ms;
  };
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
  return {
    sequential: stats(sequential),
    burst: { ...stats(burst), concurrency: job.concurrency, wallMs: round(burstWallMs, 1) },
    body,
    failures,
  };
}

export async function runScrapeJob(job: ScrapeJob): Promise<ScrapeResult> {
  const dispatcher = new Agent({ keepAliveTimeout: 10_000, connections: job.concurrency });
  try {
    const plain = await pass(job, dispatcher, false);
    const gzip = await pass(job, dispatcher, true);
    const lines = seriesOf(plain.body.toString('utf8'));
    const portals = new Set(
      lines
        .filter((line) => line.startsWith('b24_offline_up{'))
        .map((line) => /portal="([^"]*)"/.exec(line)?.[1]),
    );
    return {
      kind: 'scrape',
      sequential: plain.sequential,
      burst: plain.burst,
      bodyBytes: plain.body.length,
      gzip: {
        sequential: gzip.sequential,
        burst: gzip.burst,
        bodyBytes: gzip.body.length,
        series:
          gzip.body.length === 0 ? 0 : seriesOf(gunzipSync(gzip.body).toString('utf8')).length,
      },
      series: lines.length,
      portals: portals.size,
      failures: plain.failures + gzip.failures,
    };
  } finally {
    await dispatcher.close();
  }
}
