/**
 * What the count plan costs the portal, through the poller over real HTTP: the processing
 * time the portal reports is counted; the breakdowns stay at most 5 minutes old under a tiny
 * budget and refresh on every poll under a large one; a request that timed out is not
 * retried; 600 event names never push a poll past its 2 requests.
 */
import { describe, expect, it } from 'vitest';
import type { PollReport } from '../../src/poll/report.js';
import { STATUSES } from '../../src/queue/snapshot.js';
import { ManualClock } from '../../src/sim/index.js';
import { select, valueOf } from '../helpers/promText.js';
import { DAY, names8, pollOk, statusTruth, STUCK_COUNTS, usePlanPortals } from './planShared.js';

const start = usePlanPortals();

describe('what the monitor costs the portal', () => {
  it('counts the processing time the portal reports, and puts a poll total in its log line', async () => {
    const p = await start({ portal: { events: names8 } });
    p.portal.fill({ counts: STUCK_COUNTS });

    await pollOk(p);
    const samples = await p.scrape();

    const counters = select(samples, 'b24_offline_rest_processing_seconds_total', {
      portal: 'portal',
    });
    const list = valueOf(samples, 'b24_offline_rest_processing_seconds_total', {
      portal: 'portal',
      method: 'event.offline.list',
    });
    expect(list).toBeGreaterThan(0);
    const line = p.log.find('Poll finished')[0]!;
    const total = counters.reduce((sum, s) => sum + s.value, 0);
    expect(line['processingSeconds']).toBeCloseTo(total, 5);
  });

  it('keeps the breakdowns at most 5 minutes old under a tiny budget, and refreshes them rarely', async () => {
    const clock = new ManualClock(Date.now());
    const p = await start({
      clock,
      env: { MONITOR_DB_TIME_SHARE: '0.000001' },
      portal: { events: names8 },
    });
    p.portal.fill({
      counts: STUCK_COUNTS,
      newestMs: clock.now() - 60_000,
      oldestMs: clock.now() - 3 * DAY,
    });

    const reports: PollReport[] = [];
    for (let i = 0; i < 31; i++) {
      reports.push(await pollOk(p));
      clock.advance(30_000);
    }

    for (const report of reports) {
      expect(report.startedAt / 1000 - report.breakdownAt!).toBeLessThanOrEqual(300);
      expect(report.requests).toBeLessThanOrEqual(2);
    }
    const refreshes = p.log.find('Poll finished').filter((l) => l['breakdown'] !== 'none');
    // 15 minutes: the first poll, then each time the next poll would find it 5 minutes old
    expect(refreshes.map((l) => l['breakdownWhy'])).toEqual([
      'first',
      'max_age',
      'max_age',
      'max_age',
    ]);
    const samples = await p.scrape();
    expect(valueOf(samples, 'b24_offline_breakdown_timestamp_seconds', { portal: 'portal' })).toBe(
      reports.at(-1)!.breakdownAt,
    );
  });

  it('refreshes the headline on every poll while the breakdown series wait for their turn', async () => {
    const clock = new ManualClock(Date.now());
    const p = await start({
      clock,
      env: { MONITOR_DB_TIME_SHARE: '0.000001' },
      portal: { events: ['ONA', 'ONB'] },
    });
    p.portal.fill({ counts: { ONA: { queued: 300, error: 60 }, ONB: { queued: 100 } } });
    const first = await pollOk(p);
    clock.advance(30_000);
    p.portal.fill({ counts: { ONA: { queued: 40, error: 5 } } });

    const second = await pollOk(p);
    const samples = await p.scrape();

    const portal = 'portal';
    expect(p.log.find('Poll finished').map((l) => l['breakdown'])).toEqual(['ages+names', 'none']);
    expect(valueOf(samples, 'b24_offline_queue_depth', { portal })).toBe(505);
    expect(valueOf(samples, 'b24_offline_status_events', { portal, status: 'queued' })).toBe(440);
    expect(valueOf(samples, 'b24_offline_status_events', { portal, status: 'error' })).toBe(65);
    // the per-name series are those of the breakdown, 30 s old, as their timestamp says
    const events = select(samples, 'b24_offline_events', { portal });
    expect(events.reduce((sum, s) => sum + s.value, 0)).toBe(460);
    expect(valueOf(samples, 'b24_offline_breakdown_timestamp_seconds', { portal })).toBe(
      first.startedAt / 1000,
    );
    expect(second.breakdownAt).toBe(first.startedAt / 1000);
  });

  it('refreshes the breakdowns on every poll when the budget covers them', async () => {
    const clock = new ManualClock(Date.now());
    const p = await start({
      clock,
      env: { MONITOR_DB_TIME_SHARE: '0.5' },
      portal: { events: names8 },
    });
    p.portal.fill({ counts: STUCK_COUNTS });

    for (let i = 0; i < 5; i++) {
      await pollOk(p);
      clock.advance(30_000);
    }

    expect(p.log.find('Poll finished').map((l) => l['breakdown'])).toEqual(
      Array(5).fill('ages+names'),
    );
  });

  it('does not retry a request that timed out', async () => {
    const p = await start({
      env: { MONITOR_REQUEST_TIMEOUT: '300' },
      portal: { events: ['ONA'] },
    });
    p.portal.fill({ counts: { ONA: { queued: 500 } } });
    p.portal.faults.set({ latencyMs: 1_000, methods: ['batch'] });

    const report = await p.poller.poll();

    expect(report.ok).toBe(false);
    expect(report.error?.reason).toBe('timeout');
    expect(p.portal.journal.list({ holder: 'monitor', method: 'batch' })).toHaveLength(1);
  });
});

describe('600 event names', () => {
  const names600 = Array.from({ length: 600 }, (_, i) => `ONAPPEVENT${String(i).padStart(3, '0')}`);

  it.each(['auto', 'count'])(
    'with %s, stay within 2 requests a poll; the names not counted add up under other',
    async (strategy) => {
      const clock = new ManualClock(Date.now());
      const p = await start({
        clock,
        env: { MONITOR_STRATEGY: strategy },
        portal: { events: names600 },
      });
      p.portal.fill({
        counts: Object.fromEntries(
          names600.map((n, i) => [n, { queued: 2 + (i % 5), error: i % 2 }]),
        ),
        newestMs: clock.now() - 10_000,
        oldestMs: clock.now() - 2 * DAY,
      });

      const counted = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const report = await pollOk(p);
        clock.advance(30_000);
        expect(report.requests).toBeLessThanOrEqual(2);
        const snapshot = report.snapshot!;
        for (const name of snapshot.groups.keys()) if (name !== 'other') counted.add(name);
        // sums stay exact: every row is in a name's series or in other
        const truth = statusTruth(p.portal.truth(snapshot.takenAt));
        for (const s of STATUSES) {
          const sum = [...snapshot.groups.values()].reduce((acc, g) => acc + g[s].count, 0);
          expect(sum, s).toBe(truth[s].count);
        }
        expect(snapshot.groups.get('other')?.queued.count ?? 0).toBeGreaterThan(0);
      }
      // names never counted take their turn: more than one poll's worth have been counted
      expect(counted.size).toBeGreaterThan(60);
    },
  );
});
