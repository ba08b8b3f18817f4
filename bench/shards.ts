/**
 * `npm run bench:shards [-- --portals 10000 --shards 4 --seconds 120 --interval 15 --extra 100]`:
 * many simulated portals over N shard processes (the real CLI, one config, one Redis from
 * Debian's redis-server). Prints per shard: CPU (share of one core, averaged over a window in
 * which each shard is scraped at a Prometheus-like cadence, every `--interval` s), RSS, the
 * `/metrics` size, the scrape latency (measured by a separate process, bench/shardScraper.ts:
 * the cadence scrapes, then `--extra` nearly back-to-back ones for a p99), the machine's load
 * average, and the refreshes per minute through Redis when every access token expires at once
 * (refusals counted by the simulated OAuth server). The simulated portals run in this process.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SimServer, type SimPortal } from '../src/sim/index.js';
import type { ProbeSecond } from './shardProbe.js';
import type { ShardScrapeJob, ShardScrapeSamples } from './shardScraper.js';
import { quantile, round } from './stats.js';

const SCRAPER = fileURLToPath(new URL('./shardScraper.ts', import.meta.url));
const PROBE = fileURLToPath(new URL('./shardProbe.ts', import.meta.url));

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const PORTALS = flag('portals', 10_000);
const SHARDS = flag('shards', 4);
const SECONDS = flag('seconds', 120);
const INTERVAL_S = flag('interval', 15);
const EXTRA = flag('extra', 100);
const PAUSE_MS = flag('pause', 1000);
/** `--cpu-prof DIR`: shard 0 runs with node --cpu-prof, the profile written there at its exit. */
const PROFILE_DIR = ((i) => (i === -1 ? undefined : process.argv[i + 1]))(
  process.argv.indexOf('--cpu-prof'),
);
const WARMUP_S = flag('warmup', 35);
/**
 * `--node-flags "--max-semi-space-size=64"`: node flags for the shards; with `--ab`, for the
 * even shards only, so that one run compares with and without them under the same load.
 */
const NODE_FLAGS = ((i) =>
  i === -1 ? [] : (process.argv[i + 1] ?? '').split(' ').filter(Boolean))(
  process.argv.indexOf('--node-flags'),
);
const AB = process.argv.includes('--ab');
/** `--worker-probe`: each shard also runs bench/shardProbe.ts's worker-thread server, scraped alongside. */
const WORKER_PROBE = process.argv.includes('--worker-probe');
/** `--ha S`: a second scraper per shard, S s after the first (a Prometheus HA pair). */
const HA_S = flag('ha', NaN);
const SCHEDULE = '*/30 * * * * *';

function log(line: string): void {
  process.stderr.write(`[bench:shards ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** utime + stime of a process, seconds (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string): number =>
    Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: round(kb('VmRSS') / 1024), peak: round(kb('VmHWM') / 1024) };
}

/**
 * Polls a shard has started (the sum of b24_offline_polls_total), read from its /metrics as
 * Prometheus reads it (OpenMetrics, gzip: the body the shard renders ahead, at most 2 s old),
 * and when it was asked. Not the text format: its first render would format every series
 * once more, and format each poll's series twice for 2 minutes, right at the start of the
 * measurement. A rate divides by the time between two reads, not by the cadence phase.
 */
async function pollsOf(url: string): Promise<{ polls: number; at: number }> {
  const at = performance.now();
  const answer = await fetch(`${url}/metrics`, {
    headers: { accept: 'application/openmetrics-text; version=1.0.0' },
  });
  const text = await answer.text();
  let polls = 0;
  for (const match of text.matchAll(/^b24_offline_polls_total\{[^}]*\} (\S+)$/gm))
    polls += Number(match[1]);
  return { polls, at };
}

/** The probe's seconds of one shard between `from` and `to` (Date.now()). */
function probeOf(dir: string, shard: number, from: number, to: number): ProbeSecond[] {
  let text: string;
  try {
    text = readFileSync(join(dir, `probe-${shard}.jsonl`), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ProbeSecond)
    .filter((second) => second.t > from && second.t <= to + 1_000);
}

/** What the shard's event loop did in the seconds a scrape overlapped. */
function during(probe: readonly ProbeSecond[], scrape: { startedAt: number; ms: number }): string {
  const seconds = probe.filter(
    (p) => p.t > scrape.startedAt && p.t - 1_000 < scrape.startedAt + scrape.ms,
  );
  if (seconds.length === 0) return 'no probe';
  const delay = Math.max(...seconds.map((p) => p.delayMs));
  const gc = seconds.reduce((sum, p) => sum + p.gcMs, 0);
  const major = seconds.reduce((sum, p) => sum + p.majorGcMs, 0);
  return `loop delay ${delay} ms, GC ${gc} ms, major ${major} ms`;
}

function loopSummary(shard: number, probe: readonly ProbeSecond[]): string {
  if (probe.length === 0) return `shard ${shard}: no probe`;
  const delays = probe.map((p) => p.delayMs);
  const last = probe.at(-1)!;
  const sum = (pick: (p: ProbeSecond) => number): number =>
    probe.reduce((total, p) => total + pick(p), 0);
  return (
    `shard ${shard}: loop delay p50 / p99 / max ${quantile(delays, 0.5)} / ${quantile(delays, 0.99)} / ${Math.max(...delays)} ms ` +
    `(seconds over 250 ms: ${delays.filter((d) => d > 250).length} of ${probe.length}); ` +
    `GC ${round(sum((p) => p.gcMs) / 1000)} s (major ${round(sum((p) => p.majorGcMs) / 1000)} s, longest second ${Math.max(...probe.map((p) => p.majorGcMs))} ms); ` +
    `at the end RSS ${last.rssMb} MB, V8 heap used ${last.heapMb} MB, external ${last.externalMb} MB (ArrayBuffers ${last.arrayBuffersMb} MB)`
  );
}

interface ShardProcess {
  readonly shard: number;
  readonly url: string;
  readonly probeUrl?: string;
  readonly child: ChildProcess;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'b24-bench-shards-'));
  const children: ChildProcess[] = [];
  const sim = await SimServer.start();
  try {
    log(`${PORTALS} simulated portals`);
    const portals: SimPortal[] = [];
    const entries: string[] = [];
    for (let i = 0; i < PORTALS; i++) {
      const portal = sim.addPortal(`b${i}`, {
        rateLimit: null,
        events: ['ONCRMLEADADD', 'ONCRMDEALUPDATE'],
      });
      portal.fill({
        counts: {
          ONCRMLEADADD: { queued: i % 13, error: i % 3 },
          ONCRMDEALUPDATE: { reserved: i % 5 },
        },
      });
      const seed = portal.authorize('monitor');
      portals.push(portal);
      entries.push(
        `  - { name: "shop-${i}.bitrix24.com", url: "${portal.restUrl}", refreshToken: "${seed.refreshToken}", accessToken: "${seed.accessToken}" }`,
      );
    }
    const configFile = join(dir, 'monitor.yaml');
    writeFileSync(
      configFile,
      [
        'defaults:',
        `  clientId: "${portals[0]!.clientId}"`,
        `  clientSecret: "${portals[0]!.clientSecret}"`,
        `  oauthUrl: "${sim.oauthUrl}"`,
        `  schedule: "${SCHEDULE}"`,
        'portals:',
        ...entries,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );

    const redisPort = await freePort();
    const redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    children.push(redis);
    await sleep(300);
    const redisUrl = `redis://127.0.0.1:${redisPort}/0`;

    log(`${SHARDS} shards`);
    const shards: ShardProcess[] = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      const port = await freePort();
      const probePort = WORKER_PROBE ? await freePort() : undefined;
      const profile = PROFILE_DIR !== undefined && shard === 0;
      const args = ['--import', 'tsx', '--import', PROBE, 'src/cli.ts', 'start'];
      if (profile) args.unshift('--cpu-prof', '--cpu-prof-dir', PROFILE_DIR);
      if (!AB || shard % 2 === 0) args.unshift(...NODE_FLAGS);
      const child = spawn(process.execPath, args, {
        env: {
          PATH: process.env['PATH'] ?? '',
          MONITOR_CONFIG: configFile,
          MONITOR_TOKEN_STORE: redisUrl,
          MONITOR_SHARDS: String(SHARDS),
          MONITOR_SHARD: String(shard),
          MONITOR_LISTEN: `127.0.0.1:${port}`,
          LOG_LEVEL: 'warn',
          BENCH_PROBE_FILE: join(dir, `probe-${shard}.jsonl`),
          ...(probePort === undefined ? {} : { BENCH_WORKER_PORT: String(probePort) }),
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
      shards.push({
        shard,
        url: `http://127.0.0.1:${port}`,
        child,
        ...(probePort === undefined ? {} : { probeUrl: `http://127.0.0.1:${probePort}/metrics` }),
      });
    }
    for (const shard of shards) {
      for (;;) {
        try {
          if ((await fetch(`${shard.url}/healthz`)).ok) break;
        } catch {
          // starting
        }
        await sleep(200);
      }
    }
    log('started; warming up for one schedule interval');
    await sleep(WARMUP_S * 1000);

    log(
      `measuring for ${SECONDS} s: a scrape of every shard every ${INTERVAL_S} s from a separate process; ` +
        `then ${EXTRA} more per shard, 0-${PAUSE_MS} ms apart`,
    );
    const scraper = fork(
      SCRAPER,
      [
        JSON.stringify({
          urls: shards.map((s) => s.url),
          intervalMs: INTERVAL_S * 1000,
          cadenceMs: SECONDS * 1000,
          extra: EXTRA,
          maxPauseMs: PAUSE_MS,
          ...(WORKER_PROBE ? { probeUrls: shards.map((s) => s.probeUrl!) } : {}),
          ...(Number.isNaN(HA_S) ? {} : { haOffsetMs: HA_S * 1000 }),
        } satisfies ShardScrapeJob),
      ],
      { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    children.push(scraper);
    const messages: { kind: string; samples?: ShardScrapeSamples[] }[] = [];
    let wake: (() => void) | null = null;
    scraper.on('message', (m) => {
      messages.push(m as (typeof messages)[number]);
      wake?.();
    });
    const nextMessage = async (): Promise<(typeof messages)[number]> => {
      while (messages.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return messages.shift()!;
    };
    const loadBefore = loadavg();
    const measuredFrom = Date.now();
    const pollsStart = await Promise.all(shards.map((s) => pollsOf(s.url)));
    const cpuStart = shards.map((s) => cpuSeconds(s.child.pid!));
    const started = performance.now();
    await nextMessage(); // cadence-done
    const elapsed = (performance.now() - started) / 1000;
    const cpu = shards.map((s, i) => (cpuSeconds(s.child.pid!) - cpuStart[i]!) / elapsed);
    const pollsPerMinute = (await Promise.all(shards.map((s) => pollsOf(s.url)))).map(
      (end, i) => ((end.polls - pollsStart[i]!.polls) / (end.at - pollsStart[i]!.at)) * 60_000,
    );
    const loadAfter = loadavg();
    const samples = (await nextMessage()).samples!;
    const measuredTo = Date.now();

    log('expiring every access token: each portal refreshes at its next poll, through Redis');
    const { answers } = sim.oauth;
    const before = answers.granted;
    for (const portal of portals) portal.expireAccessTokens();
    const refreshStart = performance.now();
    while (answers.granted - before < PORTALS && performance.now() - refreshStart < 120_000)
      await sleep(500);
    const refreshSeconds = (performance.now() - refreshStart) / 1000;

    console.log(
      `\n## ${PORTALS} portals over ${SHARDS} shards (schedule ${SCHEDULE}, ${round(elapsed)} s measured)\n`,
    );
    if (NODE_FLAGS.length > 0)
      console.log(
        `${AB ? 'The even shards' : 'All shards'} run with node ${NODE_FLAGS.join(' ')}\n`,
      );
    console.log(
      '| shard | portals | CPU (cores) | RSS MB (peak) | /metrics bytes (gzip) | series | polls/min | cadence scrapes p50 / max ms (n) | all scrapes p50 / p99 ms (n) |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    const slow: string[] = [];
    const loops: string[] = [];
    for (const shard of shards) {
      const text = await (await fetch(`${shard.url}/metrics`)).text();
      const owned = /^b24_offline_shard_portals (\d+)$/m.exec(text)?.[1] ?? '?';
      const memory = rssMb(shard.child.pid!);
      const s = samples[shard.shard]!;
      const all = [...s.cadenceMs, ...s.extraMs];
      console.log(
        `| ${shard.shard} | ${owned} | ${round(cpu[shard.shard]!, 3)} | ${memory.rss} (${memory.peak}) | ${s.plainBytes} (${s.gzipBytes}) | ${s.series} | ${Math.round(pollsPerMinute[shard.shard]!)} | ` +
          `${round(quantile(s.cadenceMs, 0.5), 1)} / ${round(Math.max(...s.cadenceMs), 1)} (${s.cadenceMs.length}) | ` +
          `${round(quantile(all, 0.5), 1)} / ${round(quantile(all, 0.99), 1)} (${all.length}) |`,
      );
      if (s.failures > 0) console.log(`  shard ${shard.shard}: ${s.failures} failed scrapes`);
      if (s.probeMs.length > 0)
        console.log(
          `  shard ${shard.shard} worker probe (fixed gzip body from a worker thread, same moments): p50 / p99 / max ` +
            `${round(quantile(s.probeMs, 0.5), 1)} / ${round(quantile(s.probeMs, 0.99), 1)} / ${round(Math.max(...s.probeMs), 1)} ms ` +
            `(${s.probeMs.length}; over 250 ms: ${s.probeMs.filter((ms) => ms > 250).length})`,
        );
      if (s.haMs.length > 0) {
        const line = (ms: number[]) =>
          `p50 / p90 / max ${round(quantile(ms, 0.5), 1)} / ${round(quantile(ms, 0.9), 1)} / ` +
          `${round(Math.max(...ms), 1)} ms (${ms.length}; over 50 ms: ${ms.filter((x) => x > 50).length}; in order: ${ms.map(Math.round).join(' ')})`;
        console.log(
          `  shard ${shard.shard} HA pair, cadence scrapes: first server ${line(s.cadenceMs)}; ` +
            `second (${HA_S} s later, from 127.0.0.2) ${line(s.haMs)}`,
        );
      }
      const probe = probeOf(dir, shard.shard, measuredFrom, measuredTo);
      slow.push(
        `shard ${shard.shard}: ` +
          (s.slow
            .map(
              (x) =>
                `#${x.index} at :${x.atSecond.toFixed(1)} ${Math.round(x.ms)} ms (${during(probe, x)})`,
            )
            .join(', ') || 'none'),
      );
      loops.push(loopSummary(shard.shard, probe));
    }
    console.log(
      `\nScrapes over 250 ms (#index, start second of the minute; polls start at :00 and :30; ` +
        `in brackets the shard's longest event-loop delay and its GC time in the seconds the scrape overlapped):\n${slow.join('\n')}`,
    );
    console.log(
      `\nEach shard's event loop over the measured phase (bench/shardProbe.ts, per second):\n${loops.join('\n')}`,
    );
    const fmt = (l: number[]): string => l.map((v) => v.toFixed(2)).join(' ');
    console.log(
      `\nCPU over the cadence phase only (${round(elapsed)} s). Machine: ${cpus().length} cores, load average ` +
        `(1/5/15 min) ${fmt(loadBefore)} before, ${fmt(loadAfter)} after (shared with other work).`,
    );
    console.log(
      `\nAll ${PORTALS} access tokens expired at once: ${answers.granted - before} refreshes through Redis in ${round(refreshSeconds)} s ` +
        `(${Math.round(((answers.granted - before) / refreshSeconds) * 60)} per minute; bounded by the schedule, each portal refreshes at its next poll); ` +
        `refused by the OAuth server (invalid_grant): ${answers.refused}.`,
    );
  } finally {
    for (const child of children.reverse()) child.kill('SIGTERM');
    await sleep(1_000);
    // a profiled shard writes its profile only if it exits by itself (a graceful stop takes seconds)
    const profiled =
      PROFILE_DIR === undefined
        ? undefined
        : children.find((c) => c.spawnargs.includes('--cpu-prof'));
    for (
      let waited = 0;
      profiled !== undefined &&
      profiled.exitCode === null &&
      profiled.signalCode === null &&
      waited < 30;
      waited++
    )
      await sleep(1_000);
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
