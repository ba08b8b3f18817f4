/**
 * The steady state of a budgeted plan on a simulated schedule (`--sql-interval`): the polls
 * ran back to back while the monitor's clock moved one interval between them, so its budget
 * earned the credit a real schedule gives and its breakdowns aged as on it.
 */
import { int, table } from '../format.js';
import type { PollRun } from '../protocol.js';
import { round } from '../stats.js';
import type { CaseResult } from './run.js';

export interface SteadyFigures {
  readonly intervalS: number;
  readonly polls: number;
  readonly failed: number;
  readonly errors: readonly string[];
  /** Polls whose breakdown request timed out (the poll itself stayed up). */
  readonly breakdownTimeouts: number;
  /** The sum of `processing` of the polls that refreshed no breakdown, seconds: median, max. */
  readonly headlineMedianS: number;
  readonly headlineMaxS: number;
  /**
   * Each headline poll's DB time over one `COUNT(*)` of the queue timed around it (the mean
   * of one just before and one just after: the same load): median and max (NaN without them).
   */
  readonly headlineRatioMedian: number;
  readonly headlineRatioMax: number;
  /**
   * Each headline poll's rows read (Handler_read_*) over those of one `COUNT(*)` of the queue:
   * the same ratio in work done, which the machine's load does not move (NaN without them).
   */
  readonly headlineReadsMedian: number;
  readonly headlineReadsMax: number;
  readonly breakdownPolls: number;
  /** The same for the polls that refreshed a breakdown (names, ages or both). */
  readonly breakdownMedianS: number;
  readonly breakdownMaxS: number;
  /** All polls' processing over the simulated wall time (polls × interval), %. */
  readonly sharePercent: number;
  /** The same without the first 5 simulated minutes (the first breakdowns of a fresh process). */
  readonly steadySharePercent: number;
  /** Oldest the breakdowns got before a poll's answer replaced them, seconds. */
  readonly maxBreakdownAgeS: number;
  readonly maxRequests: number;
  /** Longest poll, real seconds. */
  readonly maxWallS: number;
  /** Each poll: DB seconds, breakdowns refreshed, requests, real seconds, breakdown timed out. */
  readonly byPoll: readonly {
    readonly s: number;
    readonly refreshed: string;
    readonly requests: number;
    readonly wallS: number;
    readonly timedOut: boolean;
    /** One `COUNT(*)` of the queue around the poll (mean of before and after), ms. */
    readonly countMs?: number;
  }[];
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function max(values: readonly number[]): number {
  return values.length === 0 ? NaN : Math.max(...values);
}

export function steadyFigures(
  runs: readonly PollRun[],
  intervalMs: number,
  countMs: readonly number[] = [],
  reads: { readonly byPoll: readonly number[]; readonly count: number } = {
    byPoll: [],
    count: 0,
  },
): SteadyFigures {
  const intervalS = intervalMs / 1000;
  const seconds = (run: PollRun) => run.processingSeconds ?? 0;
  const ok = runs.filter((run) => run.ok);
  const breakdown = ok.filter((run) => (run.refreshed?.length ?? 0) > 0);
  const headline = ok.filter((run) => (run.refreshed?.length ?? 0) === 0);
  const ratios = runs.flatMap((run, i) => {
    const count = countMs[i];
    if (!run.ok || (run.refreshed?.length ?? 0) > 0 || count === undefined || !(count > 0)) {
      return [];
    }
    return [(seconds(run) * 1000) / count];
  });
  const readRatios = runs.flatMap((run, i) => {
    const read = reads.byPoll[i];
    if (!run.ok || (run.refreshed?.length ?? 0) > 0 || read === undefined || !(reads.count > 0)) {
      return [];
    }
    return [read / reads.count];
  });
  const total = runs.reduce((sum, run) => sum + seconds(run), 0);
  const warm = Math.ceil(300 / intervalS);
  const later = runs.slice(warm);
  const laterTotal = later.reduce((sum, run) => sum + seconds(run), 0);
  // The breakdowns a scrape sees just before poll i's answer: those of poll i − 1.
  let maxAge = 0;
  for (let i = 1; i < runs.length; i++) {
    const run = runs[i];
    const before = runs[i - 1]?.breakdownAt;
    if (run?.startedAtS === undefined || before === undefined) continue;
    maxAge = Math.max(maxAge, run.startedAtS + run.wallMs / 1000 - before);
  }
  return {
    intervalS,
    polls: runs.length,
    failed: runs.length - ok.length,
    errors: [...new Set(runs.flatMap((run) => (run.error === undefined ? [] : [run.error])))],
    breakdownTimeouts: runs.filter((run) => run.breakdownTimedOut === true).length,
    headlineMedianS: round(median(headline.map(seconds)), 3),
    headlineMaxS: round(max(headline.map(seconds)), 3),
    headlineRatioMedian: round(median(ratios), 2),
    headlineRatioMax: round(max(ratios), 2),
    headlineReadsMedian: round(median(readRatios), 2),
    headlineReadsMax: round(max(readRatios), 2),
    breakdownPolls: breakdown.length,
    breakdownMedianS: round(median(breakdown.map(seconds)), 3),
    breakdownMaxS: round(max(breakdown.map(seconds)), 3),
    sharePercent: round((total / (runs.length * intervalS)) * 100, 2),
    steadySharePercent:
      later.length === 0 ? NaN : round((laterTotal / (later.length * intervalS)) * 100, 2),
    maxBreakdownAgeS: round(maxAge, 1),
    maxRequests: max(runs.map((run) => run.requests)),
    maxWallS: round(max(runs.map((run) => run.wallMs)) / 1000, 2),
    byPoll: runs.map((run, i) => ({
      s: round(seconds(run), 3),
      refreshed: run.refreshed?.join('+') ?? '',
      requests: run.requests,
      wallS: round(run.wallMs / 1000, 2),
      timedOut: run.breakdownTimedOut === true,
      ...(countMs[i] === undefined ? {} : { countMs: round(countMs[i] ?? 0, 1) }),
    })),
  };
}

function secs(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
}

function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(1)}×` : '—';
}

function pct(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)} %` : '—';
}

export function steadyTable(cases: readonly CaseResult[]): string {
  const rows = cases.flatMap((c) =>
    c.plans.flatMap((plan) => {
      const s = plan.steady;
      if (s === undefined) return [];
      return [
        [
          c.label,
          `${int(c.countAllMs)} ms`,
          plan.plan,
          `${s.polls} × ${s.intervalS} s`,
          `${secs(s.headlineMedianS)} / ${secs(s.headlineMaxS)}`,
          `${ratio(s.headlineRatioMedian)} / ${ratio(s.headlineRatioMax)}`,
          `${ratio(s.headlineReadsMedian)} / ${ratio(s.headlineReadsMax)}`,
          `${s.breakdownPolls}: ${secs(s.breakdownMedianS)} / ${secs(s.breakdownMaxS)}`,
          pct(s.sharePercent),
          pct(s.steadySharePercent),
          `${Math.round(s.maxBreakdownAgeS)} s`,
          String(s.maxRequests),
          secs(s.maxWallS),
          s.failed === 0 ? '0' : `${s.failed}: ${s.errors.join('; ').slice(0, 80)}`,
          String(s.breakdownTimeouts),
        ],
      ];
    }),
  );
  return table(
    [
      'queue',
      'COUNT(*)',
      'plan',
      'polls',
      'headline poll DB (median / max)',
      '÷ COUNT(*) around it (median / max)',
      "rows read ÷ COUNT(*)'s (median / max)",
      'breakdown polls: DB (median / max)',
      'share',
      'share after 5 min',
      'max breakdown age',
      'max HTTP req/poll',
      'max wall/poll',
      'failed',
      'breakdown timeouts',
    ],
    rows,
    ['left', 'right', 'left', ...Array<'right'>(10).fill('right'), 'left', 'right'],
  );
}

export const STEADY_NOTES = [
  'Steady state on a simulated schedule: the polls run back to back in real time while the',
  "monitor's clock moves one interval from each poll's start to the next, so the database",
  'budget (MONITOR_DB_TIME_SHARE, default 5 %) earns the credit of that schedule and the',
  "breakdowns age as on it. DB: the sum of the poll's `processing` (the SQL portal's measured",
  'COUNT and page time). share: all DB time over polls × interval; after 5 min: without the',
  "first 5 simulated minutes (a fresh process's first breakdowns). max breakdown age: the",
  'oldest the by-name and by-age figures got before a newer poll replaced them. The rows stay',
  "as filled while the monitor's clock moves on, so they age by the simulated minutes too.",
  "÷ COUNT(*) around it: each headline poll's DB time over one COUNT(*) of the whole queue, the",
  'mean of two the bench ran just before and two just after that poll (the same load; not',
  "charged to the monitor): median and max. rows read ÷ COUNT(*)'s: the same in rows the",
  "server read (Handler_read_*), which the machine's load does not move.",
  'breakdown timeouts: polls whose breakdown request outlasted the request timeout (15 s): the',
  'poll stayed up with the older breakdowns. The JSON holds every poll (steady.byPoll).',
];
