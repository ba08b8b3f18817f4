/**
 * The names breakdown of a queue whose old rows did not change, counted from its recent tail.
 *
 * What the server allows (docs/bitrix24-api.md, "The offline-event queue" and "The table
 * behind the queue"): a row enters the queue with TIMESTAMP_X = now, and a repeat of its
 * MESSAGE_ID moves an unreserved row's TIMESTAMP_X to now; reserving and marking an error
 * leave TIMESTAMP_X alone; only `event.offline.error` empties PROCESS_ID, and it sets ERROR, so
 * no row ever becomes queued again; rows are deleted, never added, by everything else. So the
 * rows older than a cutoff T (a margin before a full count of names) form a set that can only
 * lose rows, and within it a row can only leave the queued status (reserved ↔ error moves keep
 * its name). Hence, with the full count's figures of that old part (per name: rows, queued
 * rows and their oldest):
 * - rows older than T = depth − rows since T; equal to the full count's: no row left the old
 *   part (nothing entered it), so every name's old rows are as many as then;
 * - queued rows older than T = queued − queued since T; equal to then: no old queued row was
 *   reserved, and since old queued rows can only go, every name's old queued rows are the
 *   same rows (their oldest too);
 * - reserved rows per name are recounted (a range of the PROCESS_ID index), rows and queued
 *   rows since T per name are ranges of the TIMESTAMP_X index: few rows while the tail is
 *   short; a name's error rows are its old rows + its rows since T − queued − reserved;
 * - a name's oldest error row is its first row in the headline's page of the oldest error
 *   rows, or else counted from that page's last TIMESTAMP_X on (the name's error rows are all
 *   no older than it).
 * When either check fails, the tail is not short (its range would be read as a pass: cost.ts),
 * a name is new, or an hour passed, the plan counts every name in full again.
 */
import {
  BY_TIME,
  isoSeconds,
  listCommand,
  pageRows,
  STATUS_FILTER,
  totalOf,
  type Headline,
  type Planned,
} from './headline.js';
import { leftOver, OTHER_EVENT_NAME, pageOf, pageStats } from './breakdown.js';
import { RANGE_SHARE } from './cost.js';
import type { CallAnswer, Params } from '../b24/types.js';
import { STATUSES, type GroupStats, type Status, type StatusStats } from '../queue/snapshot.js';

type Answers = Readonly<Record<string, CallAnswer>>;

/** T = the full count's time minus this: room for the portal's clock to lag the monitor's. */
const TAIL_MARGIN_S = 120;
/** A baseline is used for at most this long; then every name is counted in full again. */
const TAIL_MAX_AGE_MS = 60 * 60_000;

interface OldName {
  readonly rows: number;
  readonly queued: number;
  /** The oldest queued row of the name (older than T), when it has one there. */
  readonly queuedOldest: number | null;
}

/** The old part (TIMESTAMP_X < cutoff) as the last full count of names saw it. */
export interface TailBaseline {
  /** T, Unix seconds. */
  readonly cutoff: number;
  /** Unix ms of the full count. */
  readonly at: number;
  readonly rows: number;
  readonly queued: number;
  readonly names: ReadonlyMap<string, OldName>;
  /** Rows since T as last counted: the estimate of what the checks read. */
  readonly recent: number;
}

const since = (cutoff: number): Params => ({ '>=TIMESTAMP_X': isoSeconds(cutoff) });

function ranged(key: string, filter: Params, rangeRows: number): Planned {
  return {
    key,
    command: listCommand(filter, BY_TIME),
    cost: 'all',
    rangeRows: Math.max(50, Math.round(rangeRows)),
  };
}

/**
 * Rows of the queue since `cutoff`, estimated from the pages (the newest row known, else the
 * poll's time): whether counting them per name reads a narrow range.
 */
function recentRows(h: Headline, cutoff: number, newest: number): number {
  const oldest = h.oldestRows[0]?.ts ?? null;
  if (oldest === null) return 0;
  if (newest < cutoff) return 0;
  if (newest <= oldest) return h.depth;
  return (h.depth * (newest - Math.max(cutoff, oldest))) / (newest - oldest);
}

/**
 * Commands a full count of names adds so that the next refreshes can count the tail only:
 * rows and queued rows since T per name. None when the tail is estimated wide.
 */
export function armCommands(
  h: Headline,
  names: readonly string[],
  takenAt: number,
  newestKnown: number | null,
): { cutoff: number; planned: Planned[] } | null {
  if (h.reservedByDifference || h.depth === 0) return null;
  const cutoff = Math.floor(takenAt) - TAIL_MARGIN_S;
  const newest = h.newest[0]?.ts ?? newestKnown ?? takenAt;
  const rows = recentRows(h, cutoff, newest);
  if (rows > RANGE_SHARE * h.depth) return null;
  const planned: Planned[] = [];
  for (const name of names) {
    const byName = { '=EVENT_NAME': name, ...since(cutoff) };
    planned.push(ranged(`n:t:a:all:${name}`, byName, rows));
    planned.push(ranged(`n:t:a:queued:${name}`, { ...byName, ...STATUS_FILTER.queued }, rows));
  }
  return { cutoff, planned };
}

/** The old part's figures from a full count (every name counted, none left to `other`). */
export function armBaseline(
  groups: ReadonlyMap<string, StatusStats>,
  names: readonly string[],
  answers: Answers,
  cutoff: number,
  now: number,
): TailBaseline | null {
  if (groups.has(OTHER_EVENT_NAME)) return null;
  const old = new Map<string, OldName>();
  let rows = 0;
  let queued = 0;
  let recent = 0;
  for (const name of names) {
    const stats = groups.get(name);
    const allKey = `n:t:a:all:${name}`;
    const queuedKey = `n:t:a:queued:${name}`;
    if (stats === undefined || !(allKey in answers) || !(queuedKey in answers)) return null;
    const all = totalOf(answers[allKey], allKey);
    const newQueued = totalOf(answers[queuedKey], queuedKey);
    const total = stats.queued.count + stats.reserved.count + stats.error.count;
    const mine = { rows: total - all, queued: stats.queued.count - newQueued };
    // A queue that changed between the commands: no baseline from them.
    if (mine.rows < 0 || mine.queued < 0 || mine.queued > mine.rows) return null;
    old.set(name, { ...mine, queuedOldest: mine.queued > 0 ? stats.queued.oldest : null });
    rows += mine.rows;
    queued += mine.queued;
    recent += all;
  }
  return { cutoff, at: now, rows, queued, names: old, recent };
}

/** The headline's checks of the old part: rows and queued rows since T. */
export function checkCommands(base: TailBaseline, now: number): Planned[] {
  if (now - base.at >= TAIL_MAX_AGE_MS) return [];
  return [
    ranged('t:all', since(base.cutoff), base.recent),
    ranged('t:queued', { ...since(base.cutoff), ...STATUS_FILTER.queued }, base.recent),
  ];
}

/** What the checks said: the old part unchanged and the tail short, with its size. */
export interface TailCheck {
  readonly recent: number;
  readonly recentQueued: number;
}

export function readCheck(h: Headline, base: TailBaseline, answers: Answers): TailCheck | null {
  if (h.reservedByDifference || !('t:all' in answers) || !('t:queued' in answers)) return null;
  const recent = totalOf(answers['t:all'], 't:all');
  const recentQueued = totalOf(answers['t:queued'], 't:queued');
  if (h.depth - recent !== base.rows) return null;
  if (h.statuses.queued.total - recentQueued !== base.queued) return null;
  if (recent > RANGE_SHARE * h.depth) return null;
  return { recent, recentQueued };
}

/**
 * The tail's commands for `names` (every name the plan knows; null when one is not in the
 * baseline or a name of the baseline with old rows is no longer known: a full count).
 */
export function tailCommands(
  h: Headline,
  base: TailBaseline,
  check: TailCheck,
  names: readonly string[],
  takenAt: number,
): Planned[] | null {
  const known = new Set(names);
  if (names.some((name) => !base.names.has(name))) return null;
  for (const [name, old] of base.names) if (old.rows > 0 && !known.has(name)) return null;
  const open = (s: Status) => h.statuses[s].total > 0 && pageOf(h, h.statuses[s]) === null;
  const failed = h.statuses.error;
  const planned: Planned[] = [];
  for (const name of names) {
    const byName = { '=EVENT_NAME': name };
    if (open('reserved')) {
      planned.push({
        key: `n:t:reserved:${name}`,
        command: listCommand({ ...byName, ...STATUS_FILTER.reserved }, BY_TIME),
        cost: 'reserved',
      });
    }
    if (check.recent > 0) {
      planned.push(ranged(`n:t:all:${name}`, { ...byName, ...since(base.cutoff) }, check.recent));
    }
    if (check.recentQueued > 0 && open('queued')) {
      const filter = { ...byName, ...since(base.cutoff), ...STATUS_FILTER.queued };
      planned.push(ranged(`n:t:queued:${name}`, filter, check.recent));
    }
    if (open('error') && !failed.rows.some((row) => row.name === name)) {
      // the name's error rows are all past the page of the oldest ones: no older than its end
      if (failed.bound === null) return null;
      const newest = h.newest[0]?.ts ?? takenAt;
      const rows = recentRows(h, failed.bound, newest);
      const filter = {
        ...byName,
        ...STATUS_FILTER.error,
        '>=TIMESTAMP_X': isoSeconds(failed.bound),
      };
      planned.push(ranged(`n:t:error:${name}`, filter, rows));
    }
  }
  return planned;
}

function firstTs(answer: CallAnswer | undefined): number | null {
  return answer === undefined ? null : (pageRows(answer)[0]?.ts ?? null);
}

/**
 * Rows by name and status from the tail's answers. `consistent` is false when the figures do
 * not add up (a queue that changed between the requests): the groups are then the best
 * reading and the next refresh counts in full.
 */
export function readTail(
  h: Headline,
  base: TailBaseline,
  check: TailCheck,
  names: readonly string[],
  answers: Answers,
): { groups: Map<string, StatusStats>; consistent: boolean } {
  let consistent = true;
  const groups = new Map<string, StatusStats>();
  const count = (key: string): number => (key in answers ? totalOf(answers[key], key) : 0);
  for (const name of names) {
    const old = base.names.get(name) ?? { rows: 0, queued: 0, queuedOldest: null };
    const stat = (status: Status, direct: () => GroupStats): GroupStats => {
      const view = h.statuses[status];
      if (view.total === 0) return { count: 0, oldest: null };
      const page = pageOf(h, view);
      return page === null ? direct() : pageStats(page, status, name);
    };
    const queued = stat('queued', () => {
      const key = `n:t:queued:${name}`;
      const recent = check.recentQueued > 0 ? count(key) : 0;
      const oldest = old.queued > 0 ? old.queuedOldest : recent > 0 ? firstTs(answers[key]) : null;
      return { count: old.queued + recent, oldest };
    });
    const reserved = stat('reserved', () => {
      const key = `n:t:reserved:${name}`;
      return { count: totalOf(answers[key], key), oldest: firstTs(answers[key]) };
    });
    const error = stat('error', () => {
      const recent = check.recent > 0 ? count(`n:t:all:${name}`) : 0;
      const byDifference = old.rows + recent - queued.count - reserved.count;
      const onPage = h.statuses.error.rows.find((row) => row.name === name);
      const key = `n:t:error:${name}`;
      if (onPage === undefined && key in answers) {
        const counted = totalOf(answers[key], key);
        if (counted !== byDifference) consistent = false;
        return { count: counted, oldest: counted > 0 ? firstTs(answers[key]) : null };
      }
      if (byDifference < 0) consistent = false;
      const n = Math.max(0, byDifference);
      return { count: n, oldest: n > 0 ? (onPage?.ts ?? null) : null };
    });
    groups.set(name, { queued, reserved, error });
  }
  // Rows of no known name: `other`, as a full count would show them, and a full count next.
  const left = leftOver(h, groups);
  if (STATUSES.some((status) => left[status] !== 0)) consistent = false;
  if (STATUSES.some((status) => left[status] > 0)) {
    const other = (status: Status): GroupStats => ({
      count: Math.max(0, left[status]),
      oldest: null,
    });
    groups.set(OTHER_EVENT_NAME, {
      queued: other('queued'),
      reserved: other('reserved'),
      error: other('error'),
    });
  }
  return { groups, consistent };
}
