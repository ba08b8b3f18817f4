/** The SQL bench's tables. */
import { int, table } from '../format.js';
import type { CaseResult, PlanResult } from './run.js';
import { SCHEDULE_S } from './run.js';

function secs(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(value < 10 ? 2 : 1)} s`;
}

function requests(plan: PlanResult): string {
  const [first, ...later] = plan.requestsPerPoll;
  if (first === undefined) return '—';
  return later.length === 0 ? String(first) : `${first} / ${Math.max(...later)}`;
}

function polls(plan: PlanResult): string {
  if (plan.polls === 0) return '—';
  const failed = plan.polls - plan.okPolls;
  return failed === 0 ? `${plan.polls} ok` : `${plan.okPolls} ok, ${failed} failed`;
}

function notes(plan: PlanResult): string {
  if (plan.skipped !== undefined) return `skipped: ${plan.skipped}`;
  const parts: string[] = [];
  if (plan.dbSecondsByPoll.length > 1) {
    parts.push(`by poll: ${plan.dbSecondsByPoll.map((s) => secs(s)).join(', ')}`);
  }
  if (plan.depthOk === false) parts.push('depth ≠ rows');
  if (plan.errors.length > 0) parts.push(`errors: ${plan.errors.join('; ').slice(0, 120)}`);
  return parts.join('; ');
}

export function sqlTable(cases: readonly CaseResult[]): string {
  const rows = cases.flatMap((c) =>
    c.plans.map((plan) => [
      c.label,
      `${int(c.countAllMs)} ms`,
      plan.plan,
      polls(plan),
      requests(plan),
      Number.isFinite(plan.listsPerPoll) ? String(plan.listsPerPoll) : '—',
      secs(plan.dbSecondsPerPoll),
      secs(plan.busySecondsPerPoll),
      Number.isFinite(plan.dbSecondsPerPoll)
        ? `${((plan.dbSecondsPerPoll * 1000) / Math.max(1, c.countAllMs)).toFixed(1)}×`
        : '—',
      Number.isFinite(plan.rowsReadPerPoll) ? int(plan.rowsReadPerPoll) : '—',
      Number.isFinite(plan.sharePercent) ? `${plan.sharePercent.toFixed(1)} %` : '—',
      Number.isFinite(plan.wallMsMedian) ? secs(plan.wallMsMedian / 1000) : '—',
      notes(plan),
    ]),
  );
  return table(
    [
      'queue',
      'COUNT(*)',
      'plan',
      'polls',
      'HTTP req/poll',
      'lists/poll',
      'DB time/poll',
      'DB busy/poll',
      '÷ COUNT(*)',
      'rows read/poll',
      `share of ${SCHEDULE_S} s`,
      'wall/poll',
      'notes',
    ],
    rows,
    [
      'left',
      'right',
      'left',
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
    ],
  );
}

export const SQL_NOTES = [
  "SQL-backed simulated portal: the queue in a private MariaDB (the server's b_rest_event_offline",
  'table and indexes, utf8mb4_general_ci, 1 GiB buffer pool, the whole table cached), every',
  'event.offline.list answered with a COUNT(*) and an ORDER BY … LIMIT 50 OFFSET page. Rows: names',
  'with falling shares, 85 % queued, 10 % error, 5 % reserved; healthy = every row from the last 2',
  "minutes, stuck = rows spread over 10 days. COUNT(*): one count of the app's whole queue (median",
  'of 5), the unit a poll is compared with. DB time/poll: database time of all lists of the run',
  '(the store times each COUNT and page; work a client gave up on is counted until it finished)',
  "over its polls (the sum of the commands' processing). DB busy: wall time with at least one",
  'list running (lists that overlap, as a retried batch next to the one its client gave up on,',
  "count once). rows read: Handler_read_* deltas of the lists' sessions. HTTP req/poll: first",
  'poll (a fresh process) / largest later poll. share of 30 s: DB time per poll over a 30-s',
  'schedule. wall/poll: median of the polls after the first. The monitor runs with its default',
  'timeouts (15-s request, 25-s poll deadline) and no client-side rate limit; the portal has no',
  'rate or operating-time limit, so its refusals do not hide the cost. sdk: @bitrix24/b24jssdk',
  'keyset list over HTTPS (one listing = one "poll"); it is skipped where its expected database',
  'time (rows², from the last size) is over the budget.',
  '',
  "The polls run back to back in one process: the auto plan's budget (MONITOR_DB_TIME_SHARE of",
  'the wall time between polls) accrues almost no credit, so its breakdowns run only while they',
  'have not all run once (the first polls of a large queue spread them over several polls) and',
  'never for the budget or the 5-minute promise. "share of 30 s" is therefore the cost of these',
  'first polls, not the 5 % average of a 30-s schedule; a poll that asks only the headline shows',
  'in "by poll" once every breakdown has run. At a 30-s schedule a 5-minute window holds 10',
  'headlines and one breakdown (more only as the credit allows).',
];
