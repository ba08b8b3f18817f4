/**
 * The monitor polls the simulated portal over real HTTP; every contract metric is asserted by
 * value against a queue whose content the test knows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FAILURE_REASONS } from '../../src/b24/errors.js';
import { AGE_THRESHOLDS, STATUSES } from '../../src/queue/snapshot.js';
import type { QueueSnapshot } from '../../src/queue/snapshot.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { scanLogsForSecretsAfterAll } from '../helpers/leaks.js';
import { select, valueOf, type Sample } from '../helpers/promText.js';

scanLogsForSecretsAfterAll();

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Every queue metric of the scrape equals the snapshot, series for series. */
function expectQueueMetrics(samples: readonly Sample[], truth: QueueSnapshot): void {
  const portal = 'portal';
  expect(valueOf(samples, 'b24_offline_queue_depth', { portal })).toBe(truth.depth);
  expect(select(samples, 'b24_offline_events', { portal })).toHaveLength(truth.groups.size * 3);
  let oldestSeries = 0;
  for (const [eventName, stats] of truth.groups) {
    for (const status of STATUSES) {
      const labels = { portal, event_name: eventName, status };
      expect(valueOf(samples, 'b24_offline_events', labels), `${eventName} ${status}`).toBe(
        stats[status].count,
      );
      const oldest = stats[status].oldest;
      expect(valueOf(samples, 'b24_offline_oldest_event_timestamp_seconds', labels)).toBe(
        oldest ?? undefined,
      );
      if (oldest !== null) oldestSeries += 1;
    }
  }
  expect(select(samples, 'b24_offline_oldest_event_timestamp_seconds', { portal })).toHaveLength(
    oldestSeries,
  );
  for (const status of STATUSES) {
    for (const age of AGE_THRESHOLDS) {
      expect(
        valueOf(samples, 'b24_offline_events_older_than', { portal, status, age: String(age) }),
        `${status} > ${age}`,
      ).toBe(truth.olderThan[status][age]);
    }
  }
  const sum = select(samples, 'b24_offline_events', { portal }).reduce(
    (total, s) => total + s.value,
    0,
  );
  expect(sum).toBe(truth.depth);
}

describe('a poll of a known queue', () => {
  it('exports literally the rows, oldest timestamps and ages of a small hand-made queue', async () => {
    harness = await startHarness({ portal: { events: ['ONCRMLEADADD', 'ONCRMDEALADD'] } });
    const now = Math.floor(Date.now() / 1000);
    const add = (eventName: string, agoSeconds: number) =>
      harness!.portal.add({ eventName, timestampMs: (now - agoSeconds) * 1000 });
    add('ONCRMLEADADD', 30); // ID 1: queued
    add('ONCRMLEADADD', 4000); // ID 2: queued, older than 3600
    add('ONCRMLEADADD', 100_000); // ID 3: will stay reserved
    add('ONTASKADD', 700_000); // ID 4: not bound, only seen in the queue; will fail
    add('ONTASKADD', 10); // ID 5: queued
    const queue = harness.portal.queue();
    // a consumer takes the oldest first: ID 4, which it fails; then ID 3, which it keeps
    const failed = queue.reserve(1, { clear: false });
    queue.markError(failed.processId);
    const reserved = queue.reserve(1, { clear: false });

    const [report] = await harness.monitor.pollOnce();
    const samples = await harness.scrape();

    expect(report?.ok).toBe(true);
    expect(failed.events.map((r) => r.ID)).toEqual(['4']);
    expect(reserved.events.map((r) => r.ID)).toEqual(['3']);
    const v = (name: string, labels: Record<string, string>) =>
      valueOf(samples, name, { portal: 'portal', ...labels });
    const events = (event_name: string, status: string) =>
      v('b24_offline_events', { event_name, status });
    const oldest = (event_name: string, status: string) =>
      v('b24_offline_oldest_event_timestamp_seconds', { event_name, status });
    const older = (status: string, age: string) =>
      v('b24_offline_events_older_than', { status, age });
    expect(v('b24_offline_queue_depth', {})).toBe(5);
    expect([
      events('ONCRMLEADADD', 'queued'),
      events('ONCRMLEADADD', 'reserved'),
      events('ONCRMLEADADD', 'error'),
    ]).toEqual([2, 1, 0]);
    expect([
      events('ONTASKADD', 'queued'),
      events('ONTASKADD', 'reserved'),
      events('ONTASKADD', 'error'),
    ]).toEqual([1, 0, 1]);
    expect([
      events('ONCRMDEALADD', 'queued'),
      events('ONCRMDEALADD', 'reserved'),
      events('ONCRMDEALADD', 'error'),
    ]).toEqual([0, 0, 0]);
    expect(oldest('ONCRMLEADADD', 'queued')).toBe(now - 4000);
    expect(oldest('ONCRMLEADADD', 'reserved')).toBe(now - 100_000);
    expect(oldest('ONCRMLEADADD', 'error')).toBeUndefined();
    expect(oldest('ONTASKADD', 'queued')).toBe(now - 10);
    expect(oldest('ONTASKADD', 'error')).toBe(now - 700_000);
    expect(oldest('ONCRMDEALADD', 'queued')).toBeUndefined();
    expect(['60', '3600', '21600'].map((age) => older('queued', age))).toEqual([1, 1, 0]);
    expect(['86400', '604800'].map((age) => older('reserved', age))).toEqual([1, 0]);
    expect(['604800'].map((age) => older('error', age))).toEqual([1]);
  });

  it.each(['scan', 'count', 'auto'])(
    'with strategy %s, matches the ground truth of a 1,200-row queue metric for metric',
    async (strategy) => {
      harness = await startHarness({
        portal: { events: ['ONCRMLEADADD', 'ONCRMDEALUPDATE', 'ONCRMCONTACTADD'] },
        env: { MONITOR_STRATEGY: strategy, MONITOR_SCAN_MAX_ROWS: '1000' },
      });
      const nowMs = Date.now();
      harness.portal.fill({
        counts: {
          ONCRMLEADADD: { queued: 500, reserved: 60, error: 40 },
          ONCRMDEALUPDATE: { queued: 300, error: 100 },
          ONIMCONNECTORMESSAGEADD: { queued: 150, reserved: 50 },
        },
        newestMs: nowMs - 5_000,
        oldestMs: nowMs - 9 * 86_400_000,
      });

      const [report] = await harness.monitor.pollOnce();
      const samples = await harness.scrape();

      expect(report?.ok).toBe(true);
      const truth = harness.portal.truth(report!.snapshot!.takenAt);
      expect(truth.depth).toBe(1200);
      expectQueueMetrics(samples, truth);
      expect(report?.strategy).toBe(strategy === 'scan' ? 'scan' : 'count');
    },
  );

  it('sets the poll, REST and OAuth counters of a scan to what was sent', async () => {
    harness = await startHarness({
      refreshOnly: true,
      env: { MONITOR_STRATEGY: 'scan' },
      portal: { events: ['ONCRMLEADADD'] },
    });
    harness.portal.fill({ counts: { ONCRMLEADADD: { queued: 120 } } });

    const before = Date.now() / 1000;
    await harness.monitor.pollOnce();
    const samples = await harness.scrape();

    const v = (name: string, labels: Record<string, string> = {}) =>
      valueOf(samples, name, { portal: 'portal', ...labels });
    // 120 rows: the first batch (event.get + page 1), then pages 2 and 3
    expect(v('b24_offline_rest_requests_total', { method: 'batch' })).toBe(1);
    expect(v('b24_offline_rest_requests_total', { method: 'event.offline.list' })).toBe(2);
    expect(v('b24_offline_poll_requests')).toBe(3);
    expect(v('b24_offline_polls_total')).toBe(1);
    expect(v('b24_offline_up')).toBe(1);
    expect(v('b24_offline_oauth_refreshes_total')).toBe(1);
    expect(v('b24_offline_oauth_refresh_failures_total')).toBe(0);
    for (const reason of FAILURE_REASONS) {
      expect(v('b24_offline_poll_failures_total', { reason })).toBe(0);
    }
    expect(select(samples, 'b24_offline_rest_errors_total')).toEqual([]);
    expect(v('b24_offline_last_success_timestamp_seconds')).toBeGreaterThanOrEqual(before);
    expect(v('b24_offline_last_success_timestamp_seconds')).toBeLessThanOrEqual(Date.now() / 1000);
    expect(v('b24_offline_poll_duration_seconds')).toBeGreaterThan(0);
    expect(v('b24_offline_poll_strategy', { strategy: 'scan' })).toBe(1);
    expect(
      v('b24_offline_rest_operating_seconds', { method: 'event.offline.list' }),
    ).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, 'b24_offline_build_info')).toBe(1);
    const calls = harness.portal.journal.list({ holder: 'monitor' }).filter((e) => !e.viaBatch);
    expect(calls.map((e) => e.method)).toEqual([
      'batch',
      'event.offline.list',
      'event.offline.list',
    ]);
  });

  it('writes one JSON log line per poll with the portal, duration, requests, depth and counts', async () => {
    harness = await startHarness({
      env: { MONITOR_STRATEGY: 'scan' },
      portal: { events: ['ONCRMLEADADD'] },
    });
    harness.portal.fill({ counts: { ONCRMLEADADD: { queued: 7, error: 2, reserved: 1 } } });

    await harness.monitor.pollOnce();

    const lines = harness.log.find('Poll finished');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      portal: 'portal',
      strategy: 'scan',
      requests: 1,
      depth: 10,
      queued: 7,
      reserved: 1,
      error: 2,
    });
    expect(typeof lines[0]?.['durationMs']).toBe('number');
  });
});
