/**
 * Loaded into each shard of `npm run bench:shards` with `node --import` (never by the monitor
 * itself): once a second it appends one JSON line to `$BENCH_PROBE_FILE` with what the
 * second held for the shard's event loop, so that the bench can say why a scrape was slow:
 * the longest event-loop delay, the time in garbage collection (major and all), and the
 * process's memory (RSS, V8 heap used, external and ArrayBuffer bytes).
 */
import { appendFileSync } from 'node:fs';
import {
  constants,
  monitorEventLoopDelay,
  PerformanceObserver,
  type PerformanceEntry,
} from 'node:perf_hooks';

export interface ProbeSecond {
  /** Date.now() at the end of the second. */
  readonly t: number;
  /** The longest event-loop delay in the second, ms. */
  readonly delayMs: number;
  /** Time in major (mark-compact) collections that ended in the second, ms. */
  readonly majorGcMs: number;
  /** Time in all collections that ended in the second, ms. */
  readonly gcMs: number;
  readonly rssMb: number;
  readonly heapMb: number;
  readonly externalMb: number;
  readonly arrayBuffersMb: number;
}

const file = process.env['BENCH_PROBE_FILE'];
if (file !== undefined) {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let majorGcMs = 0;
  let gcMs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcMs += entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  const mb = (bytes: number): number => Math.round(bytes / 1_048_576);
  setInterval(() => {
    const memory = process.memoryUsage();
    const second: ProbeSecond = {
      t: Date.now(),
      delayMs: Math.round(delay.max / 1e6),
      majorGcMs: Math.round(majorGcMs),
      gcMs: Math.round(gcMs),
      rssMb: mb(memory.rss),
      heapMb: mb(memory.heapUsed),
      externalMb: mb(memory.external),
      arrayBuffersMb: mb(memory.arrayBuffers),
    };
    delay.reset();
    majorGcMs = 0;
    gcMs = 0;
    appendFileSync(file, `${JSON.stringify(second)}\n`);
  }, 1_000).unref();
}

/**
 * `BENCH_WORKER_PORT` (step 1 of the off-main-thread question, `--worker-probe`): a worker
 * thread with its own HTTP server on that port answers every request with a fixed gzip body of
 * `BENCH_WORKER_BYTES` (default ~800 KB, the size of a shard's body): how fast a thread that
 * does not share the shard's event loop or V8 heap answers on the same busy machine.
 */
const workerPort = process.env['BENCH_WORKER_PORT'];
if (workerPort !== undefined) {
  const { Worker } = await import('node:worker_threads');
  const source = `
    const { createServer } = require('node:http');
    const { randomBytes } = require('node:crypto');
    const body = randomBytes(${Number(process.env['BENCH_WORKER_BYTES'] ?? 800_000)});
    createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8',
        'content-encoding': 'gzip', 'content-length': String(body.length) });
      for (let i = 0; i < body.length; i += 65536) response.write(body.subarray(i, i + 65536));
      response.end();
    }).listen(${Number(workerPort)}, '127.0.0.1');
  `;
  new Worker(source, { eval: true }).unref();
}
