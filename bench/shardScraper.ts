/**
 * The scraper of `npm run bench:shards`, a process of its own (forked by bench/shards.ts), so
 * that a scrape's latency is measured outside the shard's event loop and outside the bench
 * process, which runs the 10,000 simulated portals.
 *
 * Scrapes as Prometheus does (its Accept header, `Accept-Encoding: gzip`); latency is to the
 * last compressed byte. Two phases, so that the CPU figure is the one a real deployment sees:
 * 1. cadence: every shard once per `intervalMs` (staggered across shards) for `cadenceMs`;
 *    the parent measures the shards' CPU over this phase only;
 * 2. latency: `extra` more scrapes per shard, each after a random pause of 0–`maxPauseMs`
 *    (nearly back to back), so that a p99 rests on about a hundred samples.
 * With `haOffsetMs`, a second scraper (another loopback address, 127.0.0.2, as the second
 * Prometheus of an HA pair is another host) scrapes each shard `haOffsetMs` after the first
 * during the cadence phase, at the same interval.
 * Reports over IPC: `{ kind: 'cadence-done' }`, then the samples and sizes.
 */
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';
import { Agent, request } from 'undici';

export interface ShardScrapeJob {
  readonly urls: readonly string[];
  readonly intervalMs: number;
  readonly cadenceMs: number;
  readonly extra: number;
  readonly maxPauseMs: number;
  /** Per shard, a second URL scraped at the same moments (the worker probe of bench/shardProbe.ts). */
  readonly probeUrls?: readonly string[];
  /** A second scraper per shard, this long after the first (cadence phase only). */
  readonly haOffsetMs?: number;
}

export interface ShardScrapeSamples {
  readonly cadenceMs: number[];
  readonly extraMs: number[];
  /** Scrapes slower than 250 ms: when they started (second of the minute, and Date.now()) and how long. */
  readonly slow: { atSecond: number; startedAt: number; ms: number; index: number }[];
  gzipBytes: number;
  plainBytes: number;
  series: number;
  failures: number;
  /** The probe URL's latencies (all scrapes), when there is one. */
  probeMs: number[];
  /** The second scraper's cadence latencies (`haOffsetMs`). */
  haMs: number[];
}

/** What Prometheus 2.x/3.x sends. */
const ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function send(message: unknown): Promise<void> {
  return new Promise((resolve, reject) =>
    process.send === undefined
      ? reject(new Error('bench/shardScraper.ts runs as a child of bench/shards.ts'))
      : process.send(message, (error: Error | null) =>
          error === null ? resolve() : reject(error),
        ),
  );
}

async function main(job: ShardScrapeJob): Promise<void> {
  const dispatcher = new Agent({ keepAliveTimeout: 60_000 });
  const samples: ShardScrapeSamples[] = job.urls.map(() => ({
    cadenceMs: [],
    extraMs: [],
    slow: [],
    gzipBytes: 0,
    plainBytes: 0,
    series: 0,
    failures: 0,
    probeMs: [],
    haMs: [],
  }));
  const second = new Agent({ keepAliveTimeout: 60_000, localAddress: '127.0.0.2' });
  const probe = async (shard: number): Promise<void> => {
    const url = job.probeUrls?.[shard];
    if (url === undefined) return;
    const started = performance.now();
    const answer = await request(url, {
      dispatcher,
      headers: { accept: ACCEPT, 'accept-encoding': 'gzip' },
    });
    await answer.body.arrayBuffer();
    samples[shard]!.probeMs.push(performance.now() - started);
  };
  const scrape = async (shard: number): Promise<number> => {
    void probe(shard).catch(() => undefined);
    const startedAt = Date.now();
    const started = performance.now();
    const answer = await request(`${job.urls[shard]}/metrics`, {
      dispatcher,
      headers: { accept: ACCEPT, 'accept-encoding': 'gzip' },
    });
    const body = Buffer.from(await answer.body.arrayBuffer());
    const ms = performance.now() - started;
    const sample = samples[shard]!;
    const index = sample.cadenceMs.length + sample.extraMs.length;
    if (ms > 250) sample.slow.push({ atSecond: (startedAt % 60_000) / 1000, startedAt, ms, index });
    if (answer.statusCode !== 200 || answer.headers['content-encoding'] !== 'gzip')
      sample.failures++;
    else sample.gzipBytes = body.length;
    return ms;
  };

  const start = performance.now();
  const pairs = job.urls.map(async (url, shard) => {
    if (job.haOffsetMs === undefined) return;
    let next = start + (shard * job.intervalMs) / job.urls.length + job.haOffsetMs;
    while (next < start + job.cadenceMs) {
      await sleep(Math.max(0, next - performance.now()));
      const started = performance.now();
      const answer = await request(`${url}/metrics`, {
        dispatcher: second,
        headers: { accept: ACCEPT, 'accept-encoding': 'gzip' },
      });
      await answer.body.arrayBuffer();
      samples[shard]!.haMs.push(performance.now() - started);
      next += job.intervalMs;
    }
  });
  await Promise.all(
    job.urls.map(async (_, shard) => {
      // staggered like Prometheus spreads its targets over the interval
      let next = start + (shard * job.intervalMs) / job.urls.length;
      while (next < start + job.cadenceMs) {
        await sleep(Math.max(0, next - performance.now()));
        samples[shard]!.cadenceMs.push(await scrape(shard));
        next += job.intervalMs;
      }
    }),
  );
  await Promise.all(pairs);
  await sleep(Math.max(0, start + job.cadenceMs - performance.now()));
  await send({ kind: 'cadence-done' });

  await Promise.all(
    job.urls.map(async (_, shard) => {
      for (let i = 0; i < job.extra; i++) {
        await sleep(Math.random() * job.maxPauseMs);
        samples[shard]!.extraMs.push(await scrape(shard));
      }
    }),
  );

  // sizes, once, after the measurements (inflating 15 MB is this process's work, not timed)
  for (const [shard, url] of job.urls.entries()) {
    const answer = await request(`${url}/metrics`, {
      dispatcher,
      headers: { accept: ACCEPT, 'accept-encoding': 'gzip' },
    });
    const gzip = Buffer.from(await answer.body.arrayBuffer());
    const text = gunzipSync(gzip).toString('utf8');
    const sample = samples[shard]!;
    sample.gzipBytes = gzip.length;
    sample.plainBytes = Buffer.byteLength(text);
    sample.series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  }
  await dispatcher.close();
  await second.close();
  await send({ kind: 'samples', samples });
}

const job = JSON.parse(process.argv[2] ?? '{}') as ShardScrapeJob;
main(job).then(
  () => process.disconnect?.(),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : error}\n`);
    process.exitCode = 1;
    process.disconnect?.();
  },
);
