/**
 * Polls while the queue changes under the scan (rows added, reserved, cleared, failed), while
 * access tokens expire mid-scan, and with 503s and 500s injected: once the queue is still and
 * the faults are gone, the metrics equal the truth.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AGE_THRESHOLDS, STATUSES } from '../../src/queue/snapshot.js';
import { startTraffic } from '../../src/sim/index.js';
import { fastClock, startHarness, type Harness } from '../helpers/harness.js';
import { scanLogsForSecretsAfterAll } from '../helpers/leaks.js';
import { select, valueOf } from '../helpers/promText.js';

scanLogsForSecretsAfterAll();

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const EVENTS = ['ONCRMLEADADD', 'ONCRMDEALADD', 'ONCRMDEALUPDATE'];

describe.each(['scan', 'count'])('strategy %s under a changing queue and faults', (strategy) => {
  it('converges to the truth once the queue is still', async () => {
    harness = await startHarness({
      clock: fastClock,
      portal: { events: EVENTS, rateLimit: { capacity: 4, drainPerSecond: 40 } },
      env: { MONITOR_STRATEGY: strategy, MONITOR_POLL_TIMEOUT: '60000' },
    });
    const nowMs = Date.now();
    harness.portal.fill({
      counts: {
        ONCRMLEADADD: { queued: 1500, error: 100, reserved: 50 },
        ONCRMDEALADD: { queued: 800 },
      },
      newestMs: nowMs - 1000,
      oldestMs: nowMs - 3 * 86_400_000,
    });
    const traffic = startTraffic(harness.portal, {
      eventNames: EVENTS,
      eventsPerSecond: 400,
      consumer: { intervalMs: 5, batchSize: 30, failRate: 0.2, leaveReservedRate: 0.1 },
    });
    harness.portal.faults.set({ errorRate: 0.15, expireTokensAfterCalls: 7 });

    const busy = [];
    const until = Date.now() + 1500;
    // At least 3 polls and 1.5 s of them, enough requests for the faults to show (a 500 misses
    // 40 requests 0.15 % of the time), and on a loaded machine (a `count` poll is 1-2 requests)
    // on until the token expired twice, so that the refreshes asserted below did happen.
    const started = harness;
    const refreshes = async () =>
      valueOf(await started.scrape(), 'b24_offline_oauth_refreshes_total', { portal: 'portal' }) ??
      0;
    let sent = 0;
    while (
      busy.length < 3 ||
      Date.now() < until ||
      sent < 40 ||
      (busy.length < 200 && (await refreshes()) < 2)
    ) {
      const reports = await harness.monitor.pollOnce();
      sent += reports.reduce((sum, r) => sum + r.requests, 0);
      busy.push(reports);
      harness.portal.faults.set({ expireTokensAfterCalls: 5 });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await traffic.stop();
    harness.portal.faults.reset();
    const [still] = await harness.monitor.pollOnce();
    const samples = await harness.scrape();

    expect(traffic.stats.produced).toBeGreaterThan(100);
    expect(traffic.stats.cleared + traffic.stats.failed).toBeGreaterThan(10);
    expect(still?.ok).toBe(true);
    const truth = harness.portal.truth(still!.snapshot!.takenAt);
    expect(valueOf(samples, 'b24_offline_queue_depth', { portal: 'portal' })).toBe(truth.depth);
    for (const [eventName, stats] of truth.groups) {
      for (const status of STATUSES) {
        const labels = { portal: 'portal', event_name: eventName, status };
        expect(valueOf(samples, 'b24_offline_events', labels), `${eventName} ${status}`).toBe(
          stats[status].count,
        );
        expect(valueOf(samples, 'b24_offline_oldest_event_timestamp_seconds', labels)).toBe(
          stats[status].oldest ?? undefined,
        );
      }
    }
    for (const status of STATUSES) {
      for (const age of AGE_THRESHOLDS) {
        const labels = { portal: 'portal', status, age: String(age) };
        expect(valueOf(samples, 'b24_offline_events_older_than', labels)).toBe(
          truth.olderThan[status][age],
        );
      }
    }
    // the faults really happened, and the client went through them
    const errors = select(samples, 'b24_offline_rest_errors_total');
    const codes = new Set(errors.map((s) => s.labels['code']));
    expect(codes).toContain('INTERNAL_SERVER_ERROR');
    expect(codes).toContain('expired_token');
    expect(codes).toContain('QUERY_LIMIT_EXCEEDED');
    expect(
      valueOf(samples, 'b24_offline_oauth_refreshes_total', { portal: 'portal' }),
    ).toBeGreaterThanOrEqual(2);
    // a poll that lost to the faults says why, with one of the contract's reasons
    for (const report of busy.flat().filter((r) => !r.ok)) {
      expect(['rate_limit', 'api_error']).toContain(report.error?.reason);
    }
  });
});
