/**
 * Measured child: one process polling many portals on schedule, wired exactly as the CLI's
 * `start` wires it (config file, secret registry, logger at the config's level, `startMonitor`).
 * Logs go to a file instead of stdout. CPU is process.cpuUsage() over wall time.
 */
import { MetricsRenderer } from '../src/metrics/render.js';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { startMonitor } from '../src/app.js';
import { formatProblems, loadConfig } from '../src/config/load.js';
import { createLogger, SecretRegistry } from '../src/runtime/log.js';
import type { MonitorMetrics } from '../src/metrics/definitions.js';
import type {
  ChildMessage,
  CpuWindow,
  FleetJob,
  FleetMeasured,
  ParentMessage,
} from './protocol.js';
import { latencyStats, maxRssMb, mb, round } from './stats.js';

/** Renders of the registry timed after polling stopped. */
const RENDERS = 30;

/** Two cycles of the 30-s schedule. */
const STEADY_WINDOW_MS = 60_000;

interface Mark {
  readonly wallMs: number;
  readonly cpu: NodeJS.CpuUsage;
}

function mark(): Mark {
  return { wallMs: performance.now(), cpu: process.cpuUsage() };
}

function cpuWindow(origin: Mark, from: Mark, to: Mark): CpuWindow {
  const cpuMicros = to.cpu.user + to.cpu.system - (from.cpu.user + from.cpu.system);
  const wallMs = to.wallMs - from.wallMs;
  return {
    fromS: round((from.wallMs - origin.wallMs) / 1000, 1),
    toS: round((to.wallMs - origin.wallMs) / 1000, 1),
    cpuPercent: wallMs > 0 ? round(cpuMicros / 10 / wallMs, 2) : 0,
  };
}

async function sum(metric: MonitorMetrics['polls'] | MonitorMetrics['restRequests']) {
  const { values } = await metric.get();
  return values.reduce((total, v) => total + v.value, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function runFleetJob(
  job: FleetJob,
  send: (message: ChildMessage) => Promise<void>,
): Promise<void> {
  const loaded = loadConfig({ env: { MONITOR_CONFIG: job.configFile } });
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems));
  const { config } = loaded;
  const secrets = new SecretRegistry();
  for (const value of config.secrets) secrets.add(value);
  const logger = createLogger({
    level: config.logLevel,
    secrets,
    destination: pino.destination({ dest: job.logFile, sync: true }),
  });
  for (const warning of loaded.warnings) logger.warn({ detail: warning }, 'Configuration warning');

  const stop = new Promise<void>((resolve) => {
    process.on('message', (message: ParentMessage) => {
      if (message.kind === 'stop') resolve();
    });
  });

  const origin = mark();
  const monitor = await startMonitor(config, { logger, secrets });
  await send({ kind: 'fleet-ready', url: monitor.server.url });

  // The start-up round: every portal polled once (all at once, bounded by the semaphore).
  // Then polling on schedule; its CPU is averaged over the last two 30-s cycles at most.
  let startupEnd: Mark | null = null;
  const marks: Mark[] = [];
  while (performance.now() - origin.wallMs < job.durationMs) {
    if (startupEnd === null && monitor.pollers.every((poller) => poller.lastReport !== null)) {
      startupEnd = mark();
    }
    if (startupEnd !== null) marks.push(mark());
    await sleep(startupEnd === null ? 100 : 500);
  }
  const end = mark();
  const steadyStart = Math.max(startupEnd?.wallMs ?? end.wallMs, end.wallMs - STEADY_WINDOW_MS);
  const steadyFrom = marks.find((m) => m.wallMs >= steadyStart) ?? end;

  const failuresByReason: Record<string, number> = {};
  for (const { labels, value } of (await monitor.metrics.pollFailures.get()).values) {
    const reason = String(labels.reason);
    failuresByReason[reason] = (failuresByReason[reason] ?? 0) + value;
  }
  const strategies: Record<string, number> = {};
  for (const poller of monitor.pollers) {
    const strategy = poller.lastSuccess?.strategy ?? 'none';
    strategies[strategy] = (strategies[strategy] ?? 0) + 1;
  }
  const up = (await monitor.metrics.up.get()).values.filter((v) => v.value === 1).length;
  const memory = process.memoryUsage();
  const measured: FleetMeasured = {
    kind: 'fleet-measured',
    wallS: round((end.wallMs - origin.wallMs) / 1000, 1),
    whole: cpuWindow(origin, origin, end),
    steady: cpuWindow(origin, steadyFrom, end),
    startupRoundS: round(((startupEnd ?? end).wallMs - origin.wallMs) / 1000, 1),
    polls: await sum(monitor.metrics.polls),
    failedPolls: Object.values(failuresByReason).reduce((a, b) => a + b, 0),
    failuresByReason,
    portalsUp: up,
    strategies,
    restRequests: await sum(monitor.metrics.restRequests),
    rssMb: mb(memory.rss),
    heapUsedMb: mb(memory.heapUsed),
  };
  await send(measured);

  // The parent scrapes /metrics now, from a process of its own, while polls go on.
  const scrapeStart = mark();
  await stop;
  const scrapeEnd = mark();
  await monitor.stop();
  // Rendering alone, with polling stopped: what /metrics costs without any contention.
  const renders: number[] = [];
  const renderer = new MetricsRenderer(monitor.metrics);
  for (let i = 0; i < RENDERS; i++) {
    const started = performance.now();
    await renderer.render(false);
    renders.push(performance.now() - started);
  }
  await send({
    kind: 'fleet-done',
    maxRssMb: maxRssMb(),
    renderOnly: latencyStats(renders),
    scrapeWindow: cpuWindow(origin, scrapeStart, scrapeEnd),
  });
}
