/**
 * Measured child: our monitor polls one portal `runs` times with one strategy, built the way
 * the CLI builds it (real config loader, `buildMonitor`), with the client-side rate limit
 * lifted so that only the monitor's own work and the local portal are timed.
 */
import { performance } from 'node:perf_hooks';
import { buildMonitor } from '../src/app.js';
import { sleep, type Clock } from '../src/b24/clock.js';
import { formatProblems, loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/runtime/log.js';
import type { ChildMessage, ParentMessage, PollJob, PollResult, PollRun } from './protocol.js';
import { toJson } from './snapshotJson.js';
import { maxRssMb } from './stats.js';

/** The parent's next `go`. */
function parentGo(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (message: ParentMessage) => {
      if (message.kind !== 'go') return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
  });
}

export async function runPollJob(
  job: PollJob,
  send: (message: ChildMessage) => Promise<void>,
): Promise<PollResult> {
  const { portal } = job;
  const loaded = loadConfig({
    env: {
      B24_PORTAL_URL: portal.restUrl,
      B24_PORTAL_NAME: 'bench',
      B24_CLIENT_ID: portal.clientId,
      B24_CLIENT_SECRET: portal.clientSecret,
      B24_REFRESH_TOKEN: portal.refreshToken,
      B24_ACCESS_TOKEN: portal.accessToken,
      B24_OAUTH_URL: portal.oauthUrl,
      B24_TOKEN_FILE: job.tokenFile,
      MONITOR_STRATEGY: job.strategy,
      MONITOR_RATE_LIMIT_CAPACITY: '1000000',
      MONITOR_RATE_LIMIT_PER_SECOND: '1000',
      // a 1M-row scan takes longer than the default deadline of 25 s
      MONITOR_POLL_TIMEOUT: '600000',
      MONITOR_LISTEN: '127.0.0.1:0',
      ...job.env,
    },
  });
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems));
  const logger = createLogger({ level: 'warn', destination: process.stderr });
  // The simulated schedule: poll i starts at start + i × interval on the monitor's clock,
  // which runs in real time within a poll (its deadlines and timeouts stay real).
  let offsetMs = 0;
  const clock: Clock = { now: () => Date.now() + offsetMs, sleep };
  const simStart = Date.now();
  const monitor = buildMonitor(loaded.config, {
    logger,
    ...(job.intervalMs === undefined ? {} : { clock }),
  });
  const baselineRssMb = Math.round(process.memoryUsage.rss() / 104_857.6) / 10;
  const runs: PollRun[] = [];
  try {
    for (let i = 0; i < job.runs; i++) {
      if (job.intervalMs !== undefined) offsetMs = simStart + i * job.intervalMs - Date.now();
      await send({ kind: 'poll-mark', phase: 'start', run: i });
      if (job.waitForGo === true) await parentGo();
      const started = performance.now();
      const [report] = await monitor.pollOnce();
      const wallMs = performance.now() - started;
      await send({ kind: 'poll-mark', phase: 'end', run: i });
      if (job.waitForGo === true) await parentGo();
      if (report === undefined) throw new Error('pollOnce returned no report');
      runs.push({
        ok: report.ok,
        wallMs,
        durationMs: report.durationMs,
        requests: report.requests,
        strategy: report.strategy,
        snapshot: report.snapshot === undefined ? null : toJson(report.snapshot),
        ...(report.error === undefined ? {} : { error: report.error.message }),
        ...(report.processingSeconds === undefined
          ? {}
          : { processingSeconds: report.processingSeconds }),
        ...(report.refreshed === undefined ? {} : { refreshed: report.refreshed }),
        ...(report.breakdownTimedOut === true ? { breakdownTimedOut: true } : {}),
        startedAtS: report.startedAt / 1000,
        ...(report.breakdownAt === undefined ? {} : { breakdownAt: report.breakdownAt }),
      });
    }
  } finally {
    await monitor.close();
  }
  return { kind: 'poll', runs, maxRssMb: maxRssMb(), baselineRssMb };
}
