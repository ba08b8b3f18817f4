/**
 * The breakdowns, refreshed less often than the headline: rows of each status older than each
 * age, and rows of each status by event name. Only what the headline's numbers leave open is
 * asked: a status with no rows, a status of at most 50 rows (its page holds every row), the
 * whole queue when it holds at most 50 rows, an age older than a status's oldest row (0) or
 * younger than the newest rows' page (the total) cost no command.
 */
import {
  BY_TIME,
  isoSeconds,
  listCommand,
  pageRows,
  STATUS_COST,
  STATUS_FILTER,
  totalOf,
  type Headline,
  type Planned,
  type Row,
  type StatusView,
} from './headline.js';
import { BadResponseError } from '../b24/errors.js';
import type { CallAnswer } from '../b24/types.js';
import { PAGE_SIZE, type ScanInput } from './offlineList.js';
import {
  AGE_THRESHOLDS,
  emptyAgeCounts,
  STATUSES,
  type AgeThreshold,
  type GroupStats,
  type Status,
  type StatusStats,
} from '../queue/snapshot.js';

/** The series that holds the rows of event names not counted one by one. */
export const OTHER_EVENT_NAME = 'other';

type Answers = Readonly<Record<string, CallAnswer>>;
export type OlderThan = Record<Status, Record<AgeThreshold, number>>;

function countRows(rows: readonly Row[], test: (row: Row) => boolean): number {
  let n = 0;
  for (const row of rows) if (test(row)) n += 1;
  return n;
}

/** Rows of `status` older than `cutoff` (TIMESTAMP_X < cutoff) when the headline implies it. */
function impliedOlderThan(h: Headline, status: Status, cutoff: number): number | null {
  const view = h.statuses[status];
  if (view.total === 0) return 0;
  if (h.newestComplete) return countRows(h.newest, (r) => r.status === status && r.ts < cutoff);
  if (view.trusted) {
    if (view.complete) return countRows(view.rows, (r) => r.ts < cutoff);
    if (view.oldest !== null && cutoff <= view.oldest) return 0;
    // Rows past the page are no older than its bound.
    if (view.bound !== null && view.bound >= cutoff) {
      return countRows(view.rows, (r) => r.ts < cutoff);
    }
  }
  // Rows past the queue's oldest page are no older than its bound, whatever their status.
  if (h.oldestBound !== null && h.oldestBound >= cutoff) {
    return countRows(h.oldestRows, (r) => r.status === status && r.ts < cutoff);
  }
  const newestLast = h.newest.at(-1);
  // Rows past the newest page are no newer than its last row: all older than the cutoff.
  if (newestLast !== undefined && h.newest.length >= PAGE_SIZE && newestLast.ts < cutoff) {
    return view.total - countRows(h.newest, (r) => r.status === status && r.ts >= cutoff);
  }
  return null;
}

/**
 * The share of the queue's rows older than `cutoff`, as if spread evenly between the queue's
 * oldest row and its newest (the headline's pages; the poll's time when the newest were not
 * asked): it decides from which side of the cutoff an age is counted.
 */
function olderShare(h: Headline, takenAt: number, cutoff: number): number {
  const oldest = h.oldestRows[0]?.ts ?? null;
  const newest = h.newest[0]?.ts ?? takenAt;
  if (oldest === null || newest <= oldest) return cutoff > newest ? 1 : 0;
  return Math.min(1, Math.max(0, (cutoff - oldest) / (newest - oldest)));
}

/**
 * One age command: rows older than the cutoff, or, when most rows are older, the rows not
 * older (`>=TIMESTAMP_X`, key suffix `:newer`; older = total − newer). Either way the
 * `TIMESTAMP_X` index reads only the smaller side when it is narrow (cost.ts); a count of
 * queued or error rows without it reads the whole table.
 */
function ageCommand(
  key: string,
  filter: Readonly<Record<string, unknown>>,
  cutoff: number,
  share: number,
  depth: number,
  cost: Planned['cost'],
): Planned {
  const newer = share > 0.5;
  const bound = newer
    ? { '>=TIMESTAMP_X': isoSeconds(cutoff) }
    : { '<TIMESTAMP_X': isoSeconds(cutoff) };
  return {
    key: newer ? `${key}:newer` : key,
    command: listCommand({ ...bound, ...filter }, BY_TIME),
    cost,
    rangeRows: Math.round(Math.min(share, 1 - share) * depth),
  };
}

export function ageCommands(input: ScanInput, h: Headline): Planned[] {
  const planned: Planned[] = [];
  for (const age of AGE_THRESHOLDS) {
    const cutoff = input.takenAt - age;
    const share = olderShare(h, input.takenAt, cutoff);
    const unknown = STATUSES.filter((s) => impliedOlderThan(h, s, cutoff) === null);
    const direct = new Set<Status>(unknown);
    if (h.reservedByDifference && direct.delete('reserved')) {
      // reserved = all − queued − error, each older than the cutoff
      planned.push(ageCommand(`age:all:${age}`, {}, cutoff, share, h.depth, 'all'));
      direct.add('queued');
      direct.add('error');
      for (const s of ['queued', 'error'] as const) {
        if (impliedOlderThan(h, s, cutoff) !== null) direct.delete(s);
      }
    }
    for (const status of direct) {
      planned.push(
        ageCommand(
          `age:${status}:${age}`,
          STATUS_FILTER[status],
          cutoff,
          share,
          h.depth,
          STATUS_COST[status],
        ),
      );
    }
  }
  return planned;
}

/** Rows older than the cutoff from an age command's answer, whichever side it counted. */
function olderFrom(answers: Answers, key: string, total: number): number | null {
  if (key in answers) return totalOf(answers[key], key);
  const newer = `${key}:newer`;
  if (newer in answers) return Math.max(0, total - totalOf(answers[newer], newer));
  return null;
}

export function readAges(takenAt: number, h: Headline, answers: Answers): OlderThan {
  const result: OlderThan = {
    queued: emptyAgeCounts(),
    reserved: emptyAgeCounts(),
    error: emptyAgeCounts(),
  };
  for (const age of AGE_THRESHOLDS) {
    const cutoff = takenAt - age;
    const of = (status: Status): number => {
      const implied = impliedOlderThan(h, status, cutoff);
      if (implied !== null) return implied;
      const asked = olderFrom(answers, `age:${status}:${age}`, h.statuses[status].total);
      if (asked !== null) return asked;
      const all = olderFrom(answers, `age:all:${age}`, h.depth);
      if (all === null) throw new BadResponseError('batch', `no answer for command age:all:${age}`);
      return Math.max(0, all - of('queued') - of('error'));
    };
    for (const status of STATUSES) result[status][age] = of(status);
  }
  return result;
}

/** Statuses whose rows by name need commands (the rest are known from the pages). */
export function statusesToCount(h: Headline): Status[] {
  if (h.newestComplete) return [];
  return STATUSES.filter((s) => {
    const view = h.statuses[s];
    return view.total > 0 && !(view.trusted && view.complete);
  });
}

/** Per status, the one name whose rows are that status's total minus the other names'. */
export type ByDifference = ReadonlyMap<Status, string>;

/**
 * Names that need no command because the numbers imply them: with every name of the queue
 * counted one by one (the caller knows no other name has rows), a status's last name is its
 * total minus the others. The name chosen is one the status's page of oldest rows holds, so
 * its oldest row is known too: the first of its rows there (any row past the page is newer).
 */
export function differenceNames(h: Headline, names: readonly string[]): ByDifference {
  const chosen = new Map<Status, string>();
  const counted = new Set(names);
  for (const status of statusesToCount(h)) {
    const view = h.statuses[status];
    if (!view.trusted) continue;
    const name = view.rows.find((row) => counted.has(row.name))?.name;
    if (name !== undefined) chosen.set(status, name);
  }
  return chosen;
}

export function nameCommands(
  h: Headline,
  names: readonly string[],
  byDifference: ByDifference = new Map(),
): Planned[] {
  const planned: Planned[] = [];
  const statuses = statusesToCount(h);
  for (const name of names) {
    const byName = { '=EVENT_NAME': name };
    for (const status of statuses) {
      if (byDifference.get(status) === name) continue;
      if (status === 'reserved' && h.reservedByDifference) {
        planned.push({
          key: `n:all:${name}`,
          command: listCommand(byName, BY_TIME),
          cost: 'all',
        });
        continue;
      }
      planned.push({
        key: `n:${status}:${name}`,
        command: listCommand({ ...byName, ...STATUS_FILTER[status] }, BY_TIME),
        cost: STATUS_COST[status],
      });
    }
  }
  return planned;
}

export function pageOf(h: Headline, view: StatusView): readonly Row[] | null {
  if (h.newestComplete) return h.newest;
  return view.trusted && view.complete ? view.rows : null;
}

/**
 * Status by status, the headline's rows less those of the names counted in `groups`: the rows
 * of names not counted (`other`), or a negative figure when the counts overshoot the totals.
 */
export function leftOver(
  h: Headline,
  groups: ReadonlyMap<string, StatusStats>,
): Record<Status, number> {
  const left: Record<Status, number> = { queued: 0, reserved: 0, error: 0 };
  for (const status of STATUSES) {
    let sum = 0;
    for (const stats of groups.values()) sum += stats[status].count;
    left[status] = h.statuses[status].total - sum;
  }
  return left;
}

/** A name's rows of a status as a page that holds every row of that status shows them. */
export function pageStats(page: readonly Row[], status: Status, name: string): GroupStats {
  let count = 0;
  let oldest: number | null = null;
  for (const r of page) {
    if (r.status !== status || r.name !== name) continue;
    count += 1;
    if (oldest === null || r.ts < oldest) oldest = r.ts;
  }
  return { count, oldest };
}

/**
 * Rows by name and status for `names` (every one counted), plus `other` for the rows of any
 * other name, so that the sums equal the headline's totals.
 */
export function readNames(
  h: Headline,
  names: readonly string[],
  answers: Answers,
  byDifference: ByDifference = new Map(),
): Map<string, StatusStats> {
  const groups = new Map<string, StatusStats>();
  const counted = new Set(names);
  const statOf = (name: string, status: Status): { count: number; oldest: number | null } => {
    const view = h.statuses[status];
    if (view.total === 0) return { count: 0, oldest: null };
    if (byDifference.get(status) === name) {
      let others = 0;
      for (const other of names) if (other !== name) others += statOf(other, status).count;
      const oldest = view.rows.find((row) => row.name === name)?.ts ?? null;
      return { count: Math.max(0, view.total - others), oldest };
    }
    const page = pageOf(h, view);
    if (page !== null) return pageStats(page, status, name);
    if (status === 'reserved' && h.reservedByDifference) {
      const all = totalOf(answers[`n:all:${name}`], `n:all:${name}`);
      const count = Math.max(0, all - statOf(name, 'queued').count - statOf(name, 'error').count);
      return { count, oldest: null };
    }
    const key = `n:${status}:${name}`;
    const count = totalOf(answers[key], key);
    const first = count > 0 ? pageRows(answers[key] as CallAnswer)[0] : undefined;
    return { count, oldest: first?.ts ?? null };
  };
  for (const name of names) {
    groups.set(name, {
      queued: statOf(name, 'queued'),
      reserved: statOf(name, 'reserved'),
      error: statOf(name, 'error'),
    });
  }
  const other: StatusStats = {
    queued: { count: 0, oldest: null },
    reserved: { count: 0, oldest: null },
    error: { count: 0, oldest: null },
  };
  const left = leftOver(h, groups);
  let rest = 0;
  for (const status of STATUSES) {
    const view = h.statuses[status];
    const count = Math.max(0, left[status]);
    rest += count;
    // The oldest row of a name not counted, when the pages show one: the status's oldest
    // rows hold it if any row of those names is among them.
    const page = pageOf(h, view) ?? (view.trusted ? view.rows : []);
    let oldest: number | null = null;
    for (const r of page) {
      if (r.status === status && !counted.has(r.name) && (oldest === null || r.ts < oldest)) {
        oldest = r.ts;
      }
    }
    other[status] = { count, oldest: count > 0 ? oldest : null };
  }
  if (rest > 0) groups.set(OTHER_EVENT_NAME, other);
  return groups;
}

/** Event names the headline's pages show. */
export function namesSeen(h: Headline): Set<string> {
  const seen = new Set<string>();
  for (const row of h.oldestRows) seen.add(row.name);
  for (const status of STATUSES) for (const row of h.statuses[status].rows) seen.add(row.name);
  return seen;
}

/**
 * Names in the queue that no one knows (bound once, since unbound), when the names counted
 * one by one fall short of a status's total and the pages did not show them: one command per
 * gap between the known names in EVENT_NAME order (`<` the first, between two, `>` the last),
 * whose first rows name the lowest unknown name of that gap.
 */
export function gapCommands(known: readonly string[], status: Status | null): Planned[] {
  const sorted = [...known].sort();
  const byStatus = status === null ? {} : STATUS_FILTER[status];
  const cost = status === null ? 'all' : STATUS_COST[status];
  const planned: Planned[] = [];
  for (let i = 0; i <= sorted.length; i++) {
    const filter: Record<string, unknown> = { ...byStatus };
    if (i > 0) filter['>EVENT_NAME'] = sorted[i - 1];
    if (i < sorted.length) filter['<EVENT_NAME'] = sorted[i];
    planned.push({
      key: `n:gap:${i}`,
      command: listCommand(filter, { EVENT_NAME: 'ASC' }),
      cost,
    });
  }
  return planned;
}

/** The statuses whose rows the names counted one by one do not cover (`other` has some). */
export function shortfall(groups: ReadonlyMap<string, StatusStats>): Status[] {
  const other = groups.get(OTHER_EVENT_NAME);
  return other === undefined ? [] : STATUSES.filter((s) => other[s].count > 0);
}
