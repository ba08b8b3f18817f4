/**
 * The count plan through the poller over real HTTP: the headline equals the truth on every
 * poll, in at most 2 requests; the portal is asked only what the headline's numbers leave
 * open (the portal's journal shows every filter); a portal that leaves `total` out still gets
 * an exact poll. What the plan costs the portal (its budget, 600 names): planBudget.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { RestClient } from '../../src/b24/types.js';
import { isoSeconds } from '../../src/poll/count.js';
import type { PollReport } from '../../src/poll/report.js';
import { STATUSES, type QueueSnapshot, type Status } from '../../src/queue/snapshot.js';
import { ManualClock, type FillSpec } from '../../src/sim/index.js';
import { valueOf } from '../helpers/promText.js';
import { DAY, names8, pollOk, statusTruth, STUCK_COUNTS, usePlanPortals } from './planShared.js';

const start = usePlanPortals();

function plain(snapshot: QueueSnapshot) {
  return {
    depth: snapshot.depth,
    groups: Object.fromEntries([...snapshot.groups].sort(([a], [b]) => a.localeCompare(b))),
    olderThan: snapshot.olderThan,
  };
}

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
    counts: STUCK_COUNTS,
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
