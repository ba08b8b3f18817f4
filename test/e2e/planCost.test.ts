/**
 * The count plan on a portal that reports the database time its rows would cost (the
 * in-memory portal answers in microseconds, so the answers' `processing` is rewritten by a
 * cost model of the real table, as EXPLAIN shows it on MariaDB: a command costs its share of
 * one 0.3-s COUNT(*) over the queue by the rows its best index reaches). The plan must keep to the share of wall time,
 * size each request to half the request timeout, and keep the breakdowns at most 5 minutes
 * old; a breakdown request that times out leaves the poll up.
 */
import { describe, expect, it } from 'vitest';
import type { PollReport } from '../../src/poll/report.js';
import { STATUSES } from '../../src/queue/snapshot.js';
import { ManualClock } from '../../src/sim/index.js';
import type { PlanPortal } from '../helpers/planPortal.js';
import { DAY, names8, STUCK_COUNTS as STUCK, usePlanPortals } from './planShared.js';
import { costed, COUNT_SECONDS, type Costed } from '../helpers/costed.js';

const startPortal = usePlanPortals();

const SIZE = { rows: 20_000, reserved: 800 };

/** The stuck queue of 8 names (rows 2 to 9 days old), unless `events` and `fill` say otherwise. */
async function start(
  env: Record<string, string>,
  costedOptions = {},
  events: readonly string[] = names8,
  fill = (now: number): Parameters<PlanPortal['portal']['fill']>[0] => ({
    counts: STUCK,
    newestMs: now - 2 * DAY,
    oldestMs: now - 9 * DAY,
  }),
) {
  const clock = new ManualClock(Date.now());
  let meter: Costed | undefined;
  const timestamps: number[] = [];
  const p = await startPortal({
    clock,
    env,
    portal: { events: [...events] },
    wrap: (client) => {
      meter = costed(client, SIZE, costedOptions, () => timestamps);
      return meter.client;
    },
  });
  p.portal.fill(fill(clock.now()));
  p.portal.queue().forEachLive((row) => timestamps.push(row.timestampMs / 1000));
  return { p, clock, meter: meter! };
}

async function pollFor(p: PlanPortal, clock: ManualClock, polls: number): Promise<PollReport[]> {
  const reports: PollReport[] = [];
  for (let i = 0; i < polls; i++) {
    const report = await p.poller.poll();
    if (!report.ok) throw new Error(`poll failed: ${report.error?.message}`);
    reports.push(report);
    clock.advance(30_000);
  }
  return reports;
}

describe('on a portal whose COUNT(*) over the queue takes 0.3 s', () => {
  it('keeps the database time within 5 % of wall time, the breakdowns within 5 minutes, each request within half the timeout', async () => {
    const { p, clock, meter } = await start({});

    const reports = await pollFor(p, clock, 60); // 30 minutes

    const spent = reports.reduce((sum, r) => sum + (r.processingSeconds ?? 0), 0);
    const share = spent / (reports.length * 30);
    expect(share).toBeLessThanOrEqual(0.05);
    expect(Math.max(...meter.requests)).toBeLessThanOrEqual(7.5);
    for (const report of reports) {
      expect(report.requests).toBeLessThanOrEqual(2);
      expect(report.startedAt / 1000 - report.breakdownAt!).toBeLessThanOrEqual(300);
      // a headline costs at most 4 COUNT(*) over the queue
      expect(report.processingSeconds).toBeLessThanOrEqual(4 * COUNT_SECONDS + 7.5);
    }
    const headlineOnly = p.log.find('Poll finished').filter((l) => l['breakdown'] === 'none');
    // (refreshes of names from the queue's tail cost little: the budget affords more of them)
    expect(headlineOnly.length).toBeGreaterThan(10);
    for (const line of headlineOnly) {
      // 2 counts and a range, and 2 narrow ranges of the tail: never the newest rows on top
      expect(line['processingSeconds']).toBeLessThanOrEqual(3 * COUNT_SECONDS);
    }
    // the breakdown is the truth as of its own refresh (the queue does not change here)
    const last = reports.at(-1)!;
    const truth = p.portal.truth(Math.floor(last.breakdownAt!));
    expect(last.snapshot!.groups).toEqual(truth.groups);
    expect(last.snapshot!.olderThan).toEqual(truth.olderThan);
  });

  it('refreshes names and ages in different polls once a whole breakdown nears one request, each when it is due, and asks the newest rows only for the ages', async () => {
    const { p, clock, meter } = await start({});

    const reports: PollReport[] = [];
    const batchesByPoll: string[][][] = [];
    for (let i = 0; i < 40; i++) {
      const from = meter.batches.length;
      const report = await p.poller.poll();
      if (!report.ok) throw new Error(`poll failed: ${report.error?.message}`);
      reports.push(report);
      batchesByPoll.push(meter.batches.slice(from));
      clock.advance(30_000);
    }

    const refreshed = reports.map((r) => r.refreshed ?? []);
    // a full count of names (not the tail of a queue whose old rows did not change: tail.ts)
    const fullNames = batchesByPoll.map((batches) =>
      batches.flat().some((k) => k.startsWith('n:') && !k.startsWith('n:t:')),
    );
    expect(fullNames.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    // after the first refresh, a full count of names is never with the ages
    for (const [i, sections] of refreshed.entries()) {
      if (i >= 2 && fullNames[i]) expect(sections.length).toBeLessThanOrEqual(1);
    }
    const namesAt = refreshed.flatMap((sections, i) => (sections.includes('names') ? [i] : []));
    const agesAt = refreshed.flatMap((sections, i) => (sections.includes('ages') ? [i] : []));
    // each section every 9 polls at most (270 s: within 5 minutes of the last refresh)
    for (const at of [namesAt, agesAt]) {
      expect(at.length).toBeGreaterThanOrEqual(4);
      for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeLessThanOrEqual(9);
    }
    for (const [i, batches] of batchesByPoll.entries()) {
      const keys = batches.flat();
      const names = keys.some((k) => k.startsWith('n:'));
      const ages = keys.some((k) => k.startsWith('age:'));
      if (i >= 2 && fullNames[i]) expect(names && ages).toBe(false);
      // the newest rows spare only age commands: not asked in a poll that counts names alone
      // (from the third poll: the first plans before it knows what the breakdown costs)
      if (i >= 2 && names && !ages) expect(keys).not.toContain('h:newest');
      // nor in a poll that refreshes nothing: a headline poll is its 3 counts and no more
      if (i >= 2 && !names && !ages) expect(keys, `poll ${i}`).not.toContain('h:newest');
      expect(
        reports[i]!.startedAt / 1000 - (reports[i]!.breakdownAt ?? Infinity),
      ).toBeLessThanOrEqual(300);
    }
    const last = reports.at(-1)!;
    const truth = p.portal.truth(Math.floor(last.breakdownAt!));
    const groupsTruth = p.portal.truth(
      Math.floor(reports[namesAt.at(-1)!]!.startedAt / 1000),
    ).groups;
    expect(last.snapshot!.groups).toEqual(groupsTruth);
    expect(last.snapshot!.olderThan).toEqual(
      p.portal.truth(Math.floor(reports[agesAt.at(-1)!]!.startedAt / 1000)).olderThan,
    );
    expect(truth.groups).toEqual(groupsTruth);
  });

  it('measures the old part with the first full count of names when the ages would crowd it out of the request, and counts the names from the tail from then on', async () => {
    // 9 names and rows up to a second ago: the ages (12 commands), the names (27) and the
    // old part's ranges (18) are more than the 50 commands of one request, names and ranges are not
    const names9 = [...names8, 'ONCRMEVENT8'];
    const counts = { queued: 2_000, reserved: 100, error: 400 };
    const { p, clock, meter } = await start(
      { MONITOR_REQUEST_TIMEOUT: '30000' },
      {},
      names9,
      (now) => ({
        counts: Object.fromEntries(names9.map((n) => [n, counts])),
        newestMs: now - 1000,
        oldestMs: now - 10 * DAY,
      }),
    );

    const reports: PollReport[] = [];
    const keysByPoll: string[][] = [];
    for (let i = 0; i < 30; i++) {
      const from = meter.batches.length;
      const report = await p.poller.poll();
      if (!report.ok) throw new Error(`poll failed: ${report.error?.message}`);
      reports.push(report);
      keysByPoll.push(meter.batches.slice(from).flat());
      clock.advance(30_000);
    }

    const full = (keys: string[]) => keys.some((k) => /^n:(queued|error|reserved):/.test(k));
    const fromTail = (keys: string[]) => keys.some((k) => k.startsWith('n:t:reserved:'));
    // the first poll counts every name in full and measures the old part; the ages follow
    expect(full(keysByPoll[0]!)).toBe(true);
    expect(keysByPoll[0]!.some((k) => k.startsWith('n:t:a:'))).toBe(true);
    expect(reports[1]!.refreshed).toEqual(['ages']);
    // later names refreshes count the tail only
    const later = keysByPoll.slice(1).filter((keys) => keys.some((k) => k.startsWith('n:')));
    expect(later.length).toBeGreaterThanOrEqual(2);
    for (const keys of later) {
      expect(full(keys)).toBe(false);
      expect(fromTail(keys)).toBe(true);
    }
    for (const report of reports.slice(1)) {
      expect(report.startedAt / 1000 - report.breakdownAt!).toBeLessThanOrEqual(300);
    }
    const share = reports.reduce((sum, r) => sum + (r.processingSeconds ?? 0), 0) / (30 * 30);
    expect(share).toBeLessThanOrEqual(0.05);
    // the queue does not change: the names from the tail are the truth
    const last = reports.at(-1)!;
    expect(last.snapshot!.groups).toEqual(p.portal.truth(Math.floor(last.breakdownAt!)).groups);
  });

  it('shrinks the breakdown to what half a short request timeout holds', async () => {
    const { p, clock, meter } = await start({ MONITOR_REQUEST_TIMEOUT: '3000' });

    const reports = await pollFor(p, clock, 20);

    // the first poll plans with the initial guess; from then on each request fits 1.5 s
    expect(Math.max(...meter.requests.slice(2))).toBeLessThanOrEqual(1.5);
    // the first poll counts names, the second adds the ages: from then on both are there
    expect(reports[0]?.breakdownAt).toBeUndefined();
    for (const report of reports.slice(1)) {
      expect(report.requests).toBeLessThanOrEqual(2);
      expect(report.startedAt / 1000 - report.breakdownAt!).toBeLessThanOrEqual(300);
      const sums = STATUSES.map((s) =>
        [...report.snapshot!.groups.values()].reduce((acc, g) => acc + g[s].count, 0),
      );
      expect(sums).toEqual([16_000, 800, 3_200]);
    }
  });

  it('splits the headline over 2 requests when half the timeout cannot hold it, and still refreshes the breakdowns in time', async () => {
    const { p, clock, meter } = await start({ MONITOR_REQUEST_TIMEOUT: '1000' });

    const reports = await pollFor(p, clock, 24);

    expect(Math.max(...meter.requests.slice(2))).toBeLessThanOrEqual(0.9);
    for (const report of reports.slice(1)) {
      expect(report.requests).toBeGreaterThanOrEqual(2);
      expect(report.requests).toBeLessThanOrEqual(3);
      expect(report.startedAt / 1000 - report.breakdownAt!).toBeLessThanOrEqual(300);
    }
  });

  it('plans smaller after the headline timed out, and is back to full breakdowns by the next forced refresh', async () => {
    const { p, clock } = await start({}, { timeOutBatch: (n: number) => n === 1 });

    const first = await p.poller.poll();
    clock.advance(30_000);
    const reports = await pollFor(p, clock, 20);

    expect(first.ok).toBe(false);
    expect(first.error?.reason).toBe('timeout');
    // the next poll splits the headline: each half now looks as slow as the whole did
    expect(reports[0]?.requests).toBe(2);
    for (const report of reports) expect(report.requests).toBeLessThanOrEqual(3);
    const last = reports.at(-1)!;
    expect(last.startedAt / 1000 - last.breakdownAt!).toBeLessThanOrEqual(300);
    expect([...last.snapshot!.groups.keys()].sort()).toEqual(names8);
  });

  it('keeps the poll up when a breakdown request times out, and does not send it again', async () => {
    const { p, clock } = await start(
      { MONITOR_STRATEGY: 'count' },
      { timeOutBatch: (n: number) => n === 4 },
    );

    const reports = await pollFor(p, clock, 2); // batches 1-2: first poll; 3: headline; 4: breakdown
    const lines = p.log.find('Poll finished');

    expect(lines[0]?.['breakdown']).toBe('ages+names');
    expect(reports[1]?.ok).toBe(true);
    expect(lines[1]).toMatchObject({ breakdown: 'none', breakdownTimedOut: true, depth: 20_000 });
    expect(reports[1]?.requests).toBe(1);
  });
});
