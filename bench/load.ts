/**
 * Load benchmark of `/metrics` while polls run (a benchmark, not a test):
 *
 *   node --import tsx bench/load.ts [--duration 30] [--connections 16] [--rows 2000]
 *
 * Three processes, so that each measures only what it should:
 * - this one runs the monitor (the real config loader and `startMonitor`, polling every 2 s)
 *   and measures its event loop with `perf_hooks.monitorEventLoopDelay`: the lag a scrape or
 *   a poll of this monitor sees;
 * - a child runs the simulated portal with live traffic (producers, a consumer, 3 % of calls
 *   answered 500 as in the demo), so the portal's own work does not show up as the monitor's
 *   lag;
 * - a child runs autocannon against `/metrics` (16 connections, 30 s), so the load generator's
 *   work does not run on the monitor's event loop either.
 * On a 2-core machine the three still share the CPU: the figures include that contention.
 * Exit code 1 when any request failed or answered other than 2xx.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startMonitor } from '../src/app.js';
import { formatProblems, loadConfig } from '../src/config/load.js';
import { createLogger, SecretRegistry } from '../src/runtime/log.js';
import { DEFAULT_EVENT_NAMES, SimServer, startTraffic } from '../src/sim/index.js';

interface Options {
  readonly duration: number;
  readonly connections: number;
  readonly rows: number;
}

interface PortalInfo {
  readonly restUrl: string;
  readonly oauthUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  readonly accessToken: string;
}

interface CannonResult {
  readonly requestsPerSecond: number;
  readonly total: number;
  readonly latencyP50: number;
  readonly latencyP99: number;
  readonly latencyMax: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
}

const SELF = fileURLToPath(import.meta.url);
const HOUR_MS = 3_600_000;
const LAG_RESOLUTION_MS = 10;
const BASELINE_S = 6;

function parseOptions(argv: readonly string[]): Options {
  const value = (name: string, fallback: number): number => {
    const at = argv.indexOf(`--${name}`);
    if (at < 0) return fallback;
    const parsed = Number(argv[at + 1]);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name} needs a number`);
    return parsed;
  };
  return {
    duration: value('duration', 30),
    connections: value('connections', 16),
    rows: value('rows', 2000),
  };
}

/** A child running this file in another role, talking over IPC. */
function child(role: string, args: readonly string[] = []): ChildProcess {
  return fork(SELF, [role, ...args], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function nextMessage<T>(proc: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    proc.once('message', (message) => resolve(message as T));
    proc.once('exit', (code) => reject(new Error(`child exited with ${String(code)}`)));
  });
}

// ---------------------------------------------------------------------------------------------
// Role: the simulated portal

async function runPortal(rows: number): Promise<void> {
  const sim = await SimServer.start();
  const portal = sim.addPortal('load', { events: [...DEFAULT_EVENT_NAMES], rateLimit: null });
  const now = Date.now();
  const share = Math.floor(rows / 10);
  portal.fill({
    counts: {
      ONCRMLEADADD: { queued: share * 4, error: share, reserved: Math.floor(share / 2) },
      ONCRMDEALUPDATE: { queued: share * 2, error: Math.floor(share / 2) },
      ONCRMCONTACTADD: { queued: share, reserved: share },
    },
    newestMs: now - 30_000,
    oldestMs: now - 30 * HOUR_MS,
    reservedAtMs: now - 2 * HOUR_MS,
  });
  const traffic = startTraffic(portal, { eventsPerSecond: 10 });
  portal.faults.set({ errorRate: 0.03 });
  const seed = portal.authorize('monitor');
  const info: PortalInfo = {
    restUrl: portal.restUrl,
    oauthUrl: sim.oauthUrl,
    clientId: portal.clientId,
    clientSecret: portal.clientSecret,
    refreshToken: seed.refreshToken,
    accessToken: seed.accessToken,
  };
  process.send?.(info);
  await new Promise((resolve) => process.once('message', resolve));
  await traffic.stop();
  const monitorCalls = portal.journal.list({ holder: 'monitor' }).length;
  await sim.close();
  process.send?.({ produced: traffic.stats.produced, monitorCalls });
  process.disconnect?.();
}

// ---------------------------------------------------------------------------------------------
// Role: the load generator

async function runCannon(url: string, duration: number, connections: number): Promise<void> {
  const result = await autocannon({ url, duration, connections, pipelining: 1 });
  const summary: CannonResult = {
    requestsPerSecond: result.requests.average,
    total: result.requests.total,
    latencyP50: result.latency.p50,
    latencyP99: result.latency.p99,
    latencyMax: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
  process.send?.(summary);
  process.disconnect?.();
}

// ---------------------------------------------------------------------------------------------
// Role: the monitor, and the measurement

async function runMain(options: Options): Promise<number> {
  const portalProcess = child('portal', [String(options.rows)]);
  const portal = await nextMessage<PortalInfo>(portalProcess);
  const dir = await mkdtemp(join(tmpdir(), 'b24-load-'));
  const loaded = loadConfig({
    env: {
      B24_PORTAL_URL: portal.restUrl,
      B24_PORTAL_NAME: 'load',
      B24_CLIENT_ID: portal.clientId,
      B24_CLIENT_SECRET: portal.clientSecret,
      B24_REFRESH_TOKEN: portal.refreshToken,
      B24_ACCESS_TOKEN: portal.accessToken,
      B24_OAUTH_URL: portal.oauthUrl,
      B24_TOKEN_FILE: join(dir, 'load.tokens.json'),
      MONITOR_LISTEN: '127.0.0.1:0',
      MONITOR_SCHEDULE: '*/2 * * * * *',
      // a scan of the queue is ~rows/50 requests every 2 s: above the default client bucket
      MONITOR_RATE_LIMIT_CAPACITY: '200',
      MONITOR_RATE_LIMIT_PER_SECOND: '100',
    },
  });
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems));
  const secrets = new SecretRegistry();
  for (const value of loaded.config.secrets) secrets.add(value);
  const polls: { ok: boolean; durationMs: number; requests: number }[] = [];
  const logSink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        const parsed = JSON.parse(line) as Record<string, unknown>;
        if (parsed['msg'] === 'Poll finished' || String(parsed['msg']).startsWith('Poll failed')) {
          polls.push({
            ok: parsed['msg'] === 'Poll finished',
            durationMs: Number(parsed['durationMs']),
            requests: Number(parsed['requests']),
          });
        }
      }
      callback();
    },
  });
  const logger = createLogger({ level: 'info', secrets, destination: logSink });
  const monitor = await startMonitor(loaded.config, { logger, secrets });
  const metricsUrl = `${monitor.server.url}/metrics`;
  const ready = Date.now() + 30_000;
  while ((await fetch(`${monitor.server.url}/readyz`)).status !== 200) {
    if (Date.now() > ready) throw new Error('the monitor did not become ready');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const scrape = await (await fetch(metricsUrl)).text();
  process.stdout.write(
    `monitor ready: ${metricsUrl} (${scrape.length} bytes per scrape, ${polls.length} poll(s) so far)\n` +
      `baseline ${BASELINE_S} s, then ${options.connections} connections for ${options.duration} s ...\n`,
  );

  // The histogram records the time between two ticks of a `resolution` ms timer: the lag is
  // what exceeds the resolution.
  const baseline = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  baseline.enable();
  await new Promise((resolve) => setTimeout(resolve, BASELINE_S * 1000));
  baseline.disable();
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  const pollsBefore = polls.length;
  lag.enable();
  const cannon = child('cannon', [
    metricsUrl,
    String(options.duration),
    String(options.connections),
  ]);
  const result = await nextMessage<CannonResult>(cannon);
  lag.disable();
  const during = polls.slice(pollsBefore);

  await monitor.stop();
  portalProcess.send('stop');
  const portalStats = await nextMessage<{ produced: number; monitorCalls: number }>(portalProcess);
  await rm(dir, { recursive: true, force: true });

  const ms = (ns: number): string => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS).toFixed(1);
  const durations = during.map((p) => p.durationMs).sort((a, b) => a - b);
  const rows: [string, string][] = [
    ['requests/s (mean)', result.requestsPerSecond.toFixed(0)],
    ['requests (total)', String(result.total)],
    [
      'latency p50 / p99 / max (ms)',
      `${result.latencyP50} / ${result.latencyP99} / ${result.latencyMax}`,
    ],
    ['errors / timeouts / non-2xx', `${result.errors} / ${result.timeouts} / ${result.non2xx}`],
    [
      'event loop delay p50 / p99 / max (ms)',
      `${ms(lag.percentile(50))} / ${ms(lag.percentile(99))} / ${ms(lag.max)}`,
    ],
    ['event loop delay mean (ms)', ms(lag.mean)],
    [
      `  same, polls only, ${BASELINE_S} s before the load`,
      `${ms(baseline.percentile(50))} / ${ms(baseline.percentile(99))} / ${ms(baseline.max)}`,
    ],
    [
      'polls during the load (ok / failed)',
      `${during.filter((p) => p.ok).length} / ${during.filter((p) => !p.ok).length}`,
    ],
    [
      'poll duration median / max (ms)',
      durations.length === 0
        ? '-'
        : `${durations[Math.floor(durations.length / 2)]} / ${durations[durations.length - 1]}`,
    ],
    ['REST requests per poll (last)', String(during.at(-1)?.requests ?? '-')],
    ['events produced on the portal', String(portalStats.produced)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  process.stdout.write(`\n${rows.map(([l, v]) => `${l.padEnd(width)}  ${v}`).join('\n')}\n`);
  return result.errors + result.timeouts + result.non2xx === 0 && during.length > 0 ? 0 : 1;
}

async function main(argv: readonly string[]): Promise<void> {
  const [role, ...rest] = argv;
  if (role === 'portal') return runPortal(Number(rest[0]));
  if (role === 'cannon') return runCannon(String(rest[0]), Number(rest[1]), Number(rest[2]));
  process.exitCode = await runMain(parseOptions(argv));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`load: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
