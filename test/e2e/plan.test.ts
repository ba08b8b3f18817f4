/**
 * The count plan through the poller over real HTTP: the headline equals the truth on every
 * poll, in at most 2 requests; the portal is asked only what the headline's numbers leave
 * open (the portal's journal shows every filter); the breakdowns stay at most 5 minutes old
 * under a tiny budget; a portal that leaves `total` out still gets an exact poll; many names
 * never push a poll past its requests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RestClient } from '../../src/b24/types.js';
import { isoSeconds } from '../../src/poll/count.js';
import type { PollReport } from '../../src/poll/report.js';
import { STATUSES, type QueueSnapshot, type Status } from '../../src/queue/snapshot.js';
import { ManualClock, type FillSpec } from '../../src/sim/index.js';
import { startPlanPortal, type PlanPortal } from '../helpers/planPortal.js';
import { select, valueOf } from '../helpers/promText.js';

let open: PlanPortal[] = [];
afterEach(async () => {
  for (const p of open) await p.close();
  open = [];
});

async function start(options: Parameters<typeof startPlanPortal>[0]): Promise<PlanPortal> {
  const p = await startPlanPortal(options);
  open.push(p);
  return p;
}

const DAY = 86_400_000;

function statusTruth(
  truth: QueueSnapshot,
): Record<Status, { count: number; oldest: number | null }> {
  const out = {
    queued: { count: 0, oldest: null as number | null },
    reserved: { count: 0, oldest: null as number | null },
    error: { count: 0, oldest: null as number | null },
  };
  for (const stats of truth.groups.values()) {
    for (const s of STATUSES) {
      out[s].count += stats[s].count;
      const o = stats[s].oldest;
      if (o !== null && (out[s].oldest === null || o < out[s].oldest!)) out[s].oldest = o;
    }
  }
  return out;
}

function plain(snapshot: QueueSnapshot) {
  return {
    depth: snapshot.depth,
    groups: Object.fromEntries([...snapshot.groups].sort(([a], [b]) => a.localeCompare(b))),
    olderThan: snapshot.olderThan,
  };
}

async function pollOk(p: PlanPortal): Promise<PollReport> {
  const report = await p.poller.poll();
  if (!report.ok) throw new Error(`poll failed: ${report.error?.message}`);
  return report;
}

const names8 = Array.from({ length: 8 }, (_, i) => `ONCRMEVENT${i}`);

interface Shape {
  readonly counts: FillSpec['counts'];
  /** Newest and oldest row, ms before now. */
  readonly newestAgoMs: number;
  readonly oldestAgoMs: number;
}

const SHAPES: Record<string, Shape> = {
  'an empty queue': { counts: {}, newestAgoMs: 0, oldestAgoMs: 0 },
  'ten rows': {
    counts: { ONCRMEVENT0: { queued: 6, error: 2, reserved: 2 } },
    newestAgoMs: 5_000,
    oldestAgoMs: 2 * DAY,
  },
  'a page and a bit': {
    counts: { ONCRMEVENT0: { queued: 40, error: 5 }, ONTASKADD: { reserved: 20 } },
    newestAgoMs: 5_000,
    oldestAgoMs: 3 * 3_600_000,
  },
  'a healthy 20,000 rows, all younger than a minute': {
    counts: Object.fromEntries(names8.map((n) => [n, { queued: 2_400, reserved: 100 }])),
    newestAgoMs: 2_000,
    oldestAgoMs: 50_000,
  },
  'a stuck 20,000 rows, two to nine days old': {
    counts: Object.fromEntries(
      names8.map((n) => [n, { queued: 2_000, reserved: 100, error: 400 }]),
    ),
    newestAgoMs: 2 * DAY,
    oldestAgoMs: 9 * DAY,
  },
};

describe.each(Object.entries(SHAPES))('on %s', (_, shape) => {
  it.each(['auto', 'count'])(
    'with %s, every headline equals the truth in at most 2 requests a poll',
    async (strategy) => {
      const clock = new ManualClock(Date.now());
      const p = await start({
        clock,
        env: { MONITOR_STRATEGY: strategy },
        portal: { events: names8 },
      });
      const now = clock.now();
      p.portal.fill({
        counts: shape.counts,
        newestMs: now - shape.newestAgoMs,
        oldestMs: now - shape.oldestAgoMs,
      });

      const reports: PollReport[] = [];
      for (let i = 0; i < 4; i++) {
        reports.push(await pollOk(p));
        clock.advance(30_000);
      }

      for (const report of reports) {
        const truth = p.portal.truth(report.snapshot!.takenAt);
        expect(report.snapshot!.depth).toBe(truth.depth);
        expect(report.headline).toEqual(statusTruth(truth));
        expect(report.requests).toBeLessThanOrEqual(2);
      }
      const first = reports[0]!;
      expect(plain(first.snapshot!)).toEqual(plain(p.portal.truth(first.snapshot!.takenAt)));
      const samples = await p.scrape();
      const last = reports.at(-1)!;
      for (const status of STATUSES) {
        expect(valueOf(samples, 'b24_offline_status_events', { portal: 'portal', status })).toBe(
          last.headline![status].count,
        );
      }
    },
  );
});

describe('the count plan asks only what the numbers leave open', () => {
  it('asks no age of a queue whose rows are all younger than a minute', async () => {
    const shape = SHAPES['a healthy 20,000 rows, all younger than a minute'] as Shape;
    const p = await start({ portal: { events: names8 } });
    const now = Date.now();
    p.portal.fill({ counts: shape.counts, newestMs: now - 2_000, oldestMs: now - 50_000 });

    const report = await pollOk(p);

    const truth = p.portal.truth(report.snapshot!.takenAt);
    expect(report.snapshot!.olderThan).toEqual(truth.olderThan);
    expect(p.listFilters().filter((f) => '<TIMESTAMP_X' in f)).toEqual([]);
  });

  it('asks only the ages between the oldest and the newest rows of a stuck queue', async () => {
    const shape = SHAPES['a stuck 20,000 rows, two to nine days old'] as Shape;
    const p = await start({ portal: { events: names8 } });
    const now = Date.now();
    p.portal.fill({ counts: shape.counts, newestMs: now - 2 * DAY, oldestMs: now - 9 * DAY });

    const report = await pollOk(p);

    const takenAt = report.snapshot!.takenAt;
    expect(report.snapshot!.olderThan).toEqual(p.portal.truth(takenAt).olderThan);
    const cutoffs = new Set(
      p.listFilters().flatMap((f) => ('<TIMESTAMP_X' in f ? [f['<TIMESTAMP_X']] : [])),
    );
    expect([...cutoffs]).toEqual([isoSeconds(takenAt - 604_800)]);
  });

  it('counts an age from the side of its cutoff with fewer rows, and still equals the truth', async () => {
    const shape = SHAPES['a stuck 20,000 rows, two to nine days old'] as Shape;
    const p = await start({ portal: { events: names8 } });
    const now = Date.now();
    // rows from 8 days to 1 hour old: most are older than 6 hours and than a day
    p.portal.fill({ counts: shape.counts, newestMs: now - 3_600_000, oldestMs: now - 8 * DAY });

    const report = await pollOk(p);

    const takenAt = report.snapshot!.takenAt;
    expect(report.snapshot!.olderThan).toEqual(p.portal.truth(takenAt).olderThan);
    const sides = (key: string) =>
      new Set(p.listFilters().flatMap((f) => (key in f ? [f[key]] : [])));
    expect([...sides('>=TIMESTAMP_X')].sort()).toEqual(
      [isoSeconds(takenAt - 86_400), isoSeconds(takenAt - 21_600)].sort(),
    );
    expect([...sides('<TIMESTAMP_X')]).toEqual([isoSeconds(takenAt - 604_800)]);
  });

  it('asks no per-name command for a status without rows, nor for one its page holds', async () => {
    const p = await start({ portal: { events: ['ONA', 'ONB', 'ONC'] } });
    p.portal.fill({
      counts: { ONA: { queued: 300, reserved: 10 }, ONB: { queued: 200 }, ONC: { queued: 100 } },
    });

    const report = await pollOk(p);

    expect(plain(report.snapshot!)).toEqual(plain(p.portal.truth(report.snapshot!.takenAt)));
    const byName = p.listFilters().filter((f) => '=EVENT_NAME' in f);
    expect(byName.map((f) => f['=EVENT_NAME']).sort()).toEqual(['ONA', 'ONB', 'ONC']);
    expect(byName.every((f) => f['=ERROR'] === '0' && f['=PROCESS_ID'] === '')).toBe(true);
  });

  it('finds a name no one knows whose rows no page shows, and counts it at the next refresh', async () => {
    const clock = new ManualClock(Date.now());
    const p = await start({
      clock,
      env: { MONITOR_STRATEGY: 'count' },
      portal: { events: ['ONA', 'ONZ'] },
    });
    const now = clock.now();
    const fill = (counts: FillSpec['counts'], fromDays: number, toDays: number) =>
      p.portal.fill({ counts, oldestMs: now - fromDays * DAY, newestMs: now - toDays * DAY });
    fill({ ONA: { queued: 200 } }, 10, 6);
    fill({ ONM: { queued: 30 } }, 5, 4); // bound once, since unbound: only the queue knows it
    fill({ ONA: { queued: 200 } }, 3, 1);

    const reports: PollReport[] = [];
    for (let i = 0; i < 3; i++) {
      reports.push(await pollOk(p));
      clock.advance(30_000);
    }

    expect(reports[0]!.snapshot!.groups.get('other')?.queued.count).toBe(30);
    expect(reports[1]!.snapshot!.groups.has('ONM')).toBe(false);
    const last = reports[2]!;
    expect(plain(last.snapshot!)).toEqual(plain(p.portal.truth(last.snapshot!.takenAt)));
    for (const report of reports) expect(report.requests).toBeLessThanOrEqual(2);
  });

  it('counts the last name of a status by difference once a count one by one left no row to another name', async () => {
    const clock = new ManualClock(Date.now());
    const p = await start({
      clock,
      env: { MONITOR_STRATEGY: 'count' },
      portal: { events: ['ONA', 'ONB', 'ONC'] },
    });
    const now = clock.now();
    p.portal.fill({
      counts: {
        ONA: { queued: 300, error: 80, reserved: 60 },
        ONB: { queued: 200, error: 70, reserved: 55 },
        ONC: { queued: 100, error: 60 },
      },
      oldestMs: now - 3 * DAY,
      newestMs: now - DAY,
    });
    const byName = (filters: readonly Record<string, unknown>[], status: Status) =>
      filters
        .filter((f) => '=EVENT_NAME' in f)
        .filter((f) =>
          status === 'reserved'
            ? '>PROCESS_ID' in f
            : f['=PROCESS_ID'] === '' && f['=ERROR'] === (status === 'error' ? '1' : '0'),
        ).length;

    const first = await pollOk(p);
    const firstFilters = p.listFilters();
    clock.advance(30_000);
    const second = await pollOk(p);
    const secondFilters = p.listFilters().slice(firstFilters.length);

    for (const report of [first, second]) {
      expect(plain(report.snapshot!)).toEqual(plain(p.portal.truth(report.snapshot!.takenAt)));
    }
    for (const status of STATUSES) {
      expect(byName(firstFilters, status)).toBe(3);
      expect(byName(secondFilters, status)).toBe(2);
    }
  });

  it.each(['auto', 'count', 'scan'])(
    'with %s, asks every list with start 0, never -1',
    async (strategy) => {
      const p = await start({ env: { MONITOR_STRATEGY: strategy }, portal: { events: ['ONA'] } });
      p.portal.fill({ counts: { ONA: { queued: 120, error: 60, reserved: 55 } } });

      await pollOk(p);

      const starts = p.portal.journal
        .list({ holder: 'monitor', method: 'event.offline.list' })
        .map((entry) => String(entry.params?.['start']));
      expect(starts.length).toBeGreaterThan(0);
      expect(new Set(starts)).toEqual(new Set(['0']));
    },
  );

  // the headline's queued command (the breakdowns add a name or an age to this filter)
  const asksQueued = (f: Record<string, unknown>) =>
    String(f['=ERROR']) === '0' && '=PROCESS_ID' in f && Object.keys(f).length === 2;

  it('takes the oldest queued row from the depth page, with no queued command', async () => {
    const p = await start({ portal: { events: names8 } });
    const now = Date.now();
    const counts = { ONCRMEVENT0: { queued: 300, error: 60, reserved: 40 } };
    p.portal.fill({ counts, newestMs: now - DAY, oldestMs: now - 3 * DAY });

    const report = await pollOk(p);

    expect(report.headline).toEqual(statusTruth(p.portal.truth(report.snapshot!.takenAt)));
    expect(p.listFilters().filter(asksQueued)).toEqual([]);
  });

  it('asks the oldest queued row when the 50 oldest rows of the queue hold none, still in 2 requests', async () => {
    const p = await start({ portal: { events: names8 } });
    const now = Date.now();
    // 80 error rows older than every queued row: the depth page holds no queued row
    p.portal.fill({
      counts: { ONCRMEVENT0: { error: 80 } },
      newestMs: now - 8 * DAY,
      oldestMs: now - 9 * DAY,
    });
    p.portal.fill({
      counts: { ONCRMEVENT1: { queued: 200, reserved: 30 } },
      newestMs: now - 1_000,
      oldestMs: now - DAY,
    });

    for (let i = 0; i < 2; i++) {
      const report = await pollOk(p);
      const truth = p.portal.truth(report.snapshot!.takenAt);
      expect(report.headline).toEqual(statusTruth(truth));
      expect(report.requests).toBeLessThanOrEqual(2);
    }
    expect(p.listFilters().filter(asksQueued).length).toBeGreaterThanOrEqual(2);
  });

  it('counts reserved rows as differences while >PROCESS_ID contradicts the oldest rows, and trusts it again once it agrees', async () => {
    let broken = true;
    // the first poll's `>PROCESS_ID ""` finds nothing: the oldest rows show reserved ones
    const wrap = (client: RestClient): RestClient => ({
      call: (method, params, options) => client.call(method, params, options),
      batch: (commands, options) => {
        if (!broken) return client.batch(commands, options);
        const rewritten = Object.fromEntries(
          Object.entries(commands).map(([key, command]) => {
            const filter = command.params['filter'] as Record<string, unknown> | undefined;
            if (filter === undefined || !('>PROCESS_ID' in filter)) return [key, command];
            const rest = Object.fromEntries(
              Object.entries(filter).filter(([k]) => k !== '>PROCESS_ID'),
            );
            const params = { ...command.params, filter: { ...rest, '=PROCESS_ID': 'none' } };
            return [key, { ...command, params }];
          }),
        );
        return client.batch(rewritten, options);
      },
    });
    const p = await start({ wrap, portal: { events: names8 } });
    const now = Date.now();
    p.portal.fill({
      counts: { ONCRMEVENT0: { queued: 200, error: 20, reserved: 60 } },
      newestMs: now - 1_000,
      oldestMs: now - DAY,
    });
    const queuedCounts = () => p.listFilters().filter(asksQueued).length;

    for (const [fixed, viaDifference, queuedCommands] of [
      [false, true, 1],
      [true, true, 2],
      [true, false, 2],
    ] as const) {
      broken = !fixed;
      const report = await pollOk(p);
      expect(report.headline).toEqual(statusTruth(p.portal.truth(report.snapshot!.takenAt)));
      expect(p.log.find('Poll finished').at(-1)?.['reservedByDifference'] ?? false).toBe(
        viaDifference,
      );
      expect(queuedCounts()).toBe(queuedCommands);
    }
  });

  it('reads a queue of at most 50 rows from the headline alone: one request, nothing more', async () => {
    const p = await start({ portal: { events: ['ONA'] } });
    p.portal.fill({ counts: { ONA: { queued: 30, error: 5 }, ONB: { reserved: 10 } } });

    const report = await pollOk(p);

    expect(report.requests).toBe(1);
    expect(plain(report.snapshot!)).toEqual(plain(p.portal.truth(report.snapshot!.takenAt)));
    expect(p.listFilters()).toHaveLength(4);
  });
});

describe('what the monitor costs the portal', () => {
  it('counts the processing time the portal reports, and puts a poll total in its log line', async () => {
    const p = await start({ portal: { events: names8 } });
    p.portal.fill({ counts: SHAPES['a stuck 20,000 rows, two to nine days old']!.counts });

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
      counts: SHAPES['a stuck 20,000 rows, two to nine days old']!.counts,
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
    p.portal.fill({ counts: SHAPES['a stuck 20,000 rows, two to nine days old']!.counts });

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

/** The real client, with every `total` left out of the answers. */
function withoutTotals(client: RestClient): RestClient {
  return {
    async call(method, params, options) {
      const answer = await client.call(method, params, options);
      return Object.fromEntries(
        Object.entries(answer).filter(([key]) => key !== 'total'),
      ) as typeof answer;
    },
    async batch(commands, options) {
      return { ...(await client.batch(commands, options)), resultTotal: {} };
    },
  };
}

describe('a portal that leaves total out', () => {
  it('is counted from its short pages when they hold every row, and the log line says so', async () => {
    const p = await start({ wrap: withoutTotals, portal: { events: ['ONA'] } });
    p.portal.fill({ counts: { ONA: { queued: 30, error: 5 }, ONB: { reserved: 10 } } });

    const report = await pollOk(p);

    expect(report.strategy).toBe('count');
    expect(plain(report.snapshot!)).toEqual(plain(p.portal.truth(report.snapshot!.takenAt)));
    expect(p.log.find('Poll finished')[0]).toMatchObject({
      totalMissing: true,
      fallback: 'short pages',
    });
  });

  it('is scanned when a page cannot stand in for a total, and the log line says so', async () => {
    const p = await start({ wrap: withoutTotals, portal: { events: ['ONA'] } });
    p.portal.fill({ counts: { ONA: { queued: 230, error: 5 }, ONB: { reserved: 10 } } });

    const report = await pollOk(p);

    expect(report.strategy).toBe('scan');
    expect(plain(report.snapshot!)).toEqual(plain(p.portal.truth(report.snapshot!.takenAt)));
    expect(p.log.find('Poll finished')[0]).toMatchObject({ totalMissing: true, fallback: 'scan' });
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
