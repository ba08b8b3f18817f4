/**
 * The headline of every poll, 3 commands in one batch (with `event.get`): the queue's depth
 * with its 50 oldest rows, error rows and reserved rows with their 50 oldest each; queued rows
 * are depth − error − reserved. Only one command passes over every row (ERROR has no index);
 * the depth count reads an index, the reserved one a range of the PROCESS_ID index, and each
 * page walks the TIMESTAMP_X index and stops after 50 rows (EXPLAIN on MariaDB 10.11). What
 * these pages show is used again by the breakdowns (see breakdown.ts): a status of at most 50
 * rows is known row by row, and ages outside a status's [oldest, newest] need no command.
 */
import { BadResponseError } from '../b24/errors.js';
import type { BatchCommand, CallAnswer, Params } from '../b24/types.js';
import type { CostClass, QueueSize } from './cost.js';
import { MissingTotalError, parseRows, parseTimestamp, parseTotal } from './parseAnswers.js';
import { listParams, PAGE_SIZE } from './offlineList.js';
import { rowStatus, type Status } from '../queue/snapshot.js';

export const BY_TIME = { TIMESTAMP_X: 'ASC' } as const;
const NEWEST_FIRST = { TIMESTAMP_X: 'DESC' } as const;
const QUEUED = { '=PROCESS_ID': '', '=ERROR': 0 } as const;
const FAILED = { '=PROCESS_ID': '', '=ERROR': 1 } as const;
const RESERVED = { '>PROCESS_ID': '' } as const;

/** The filter of each status; `>PROCESS_ID ""` selects every non-empty id (server code). */
export const STATUS_FILTER: Readonly<Record<Status, Params>> = {
  queued: QUEUED,
  error: FAILED,
  reserved: RESERVED,
};
export const STATUS_COST: Readonly<Record<Status, CostClass>> = {
  queued: 'all',
  error: 'all',
  reserved: 'reserved',
};

/** A command of the plan, with the index its filter can use. */
export interface Planned {
  readonly key: string;
  readonly command: BatchCommand;
  readonly cost: CostClass;
  /** Estimated rows of the queue in the command's `TIMESTAMP_X` range (an age command). */
  readonly rangeRows?: number;
}

/** `<TIMESTAMP_X` values: ISO 8601 in UTC, which the portal converts to its own zone. */
export function isoSeconds(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', '+00:00');
}

/** `event.offline.list` with `start: 0`: the documented way to get `total`. */
export function listCommand(filter: Params, order: Params): BatchCommand {
  return {
    method: 'event.offline.list',
    params: listParams(filter, order),
  };
}

export interface Row {
  readonly name: string;
  readonly status: Status;
  /** TIMESTAMP_X, Unix seconds. */
  readonly ts: number;
}

export function pageRows(answer: CallAnswer): Row[] {
  return parseRows(answer.result).map((row) => ({
    name: row.EVENT_NAME.toUpperCase(),
    status: rowStatus(row.PROCESS_ID, row.ERROR),
    ts: parseTimestamp(row.TIMESTAMP_X),
  }));
}

/**
 * The answer's `total`; when the portal left it out, a page shorter than 50 rows (no offset)
 * holds every matching row, so its length is exact; otherwise the poll cannot be counted.
 */
export function totalOf(answer: CallAnswer | undefined, key: string): number {
  if (answer === undefined) throw new BadResponseError('batch', `no answer for command ${key}`);
  if (answer.total !== undefined) return parseTotal(answer.total);
  const rows = parseRows(answer.result);
  if (rows.length < PAGE_SIZE) return rows.length;
  // the portal left out a `total` a page could not replace: the poll cannot be counted
  throw new MissingTotalError('event.offline.list');
}

/** Whether the answer lacked `total` (the count was taken from the page). */
function lacksTotal(answer: CallAnswer | undefined): boolean {
  return answer !== undefined && answer.total === undefined;
}

export interface StatusView {
  readonly total: number;
  /** The status's oldest rows, oldest first (up to 50). */
  readonly rows: readonly Row[];
  /** `rows` are every row of the status. */
  readonly complete: boolean;
  /** `rows` really are this status's rows (false when reserved rows are counted by difference). */
  readonly trusted: boolean;
  /**
   * Every row of the status missing from `rows` has TIMESTAMP_X ≥ this (the last row of the
   * page the rows came from, when that page was full); null when `rows` are complete or unknown.
   */
  readonly bound: number | null;
  /** Smallest TIMESTAMP_X, null when empty. */
  readonly oldest: number | null;
}

export interface Headline {
  readonly depth: number;
  readonly statuses: Readonly<Record<Status, StatusView>>;
  /** The queue's oldest rows, oldest first (up to 50): the depth command's page. */
  readonly oldestRows: readonly Row[];
  /** Every row missing from `oldestRows` has TIMESTAMP_X ≥ this; null when they are all. */
  readonly oldestBound: number | null;
  /** The queue's newest rows, newest first (up to 50; none when not asked this poll). */
  readonly newest: readonly Row[];
  /** `newest` holds every row of the queue. */
  readonly newestComplete: boolean;
  /** Reserved rows are depth − queued − error: the `>PROCESS_ID ""` filter was distrusted. */
  readonly reservedByDifference: boolean;
  readonly size: QueueSize;
  /** Some total was taken from a short page because the portal left it out. */
  readonly totalsFromPages: boolean;
}

/**
 * The headline's first request: depth with the queue's 50 oldest rows (`COUNT(*)` through the
 * `(APP_ID, CONNECTOR_ID)` index, the page walks `(TIMESTAMP_X)` and stops after 50 rows),
 * error rows with their oldest (the one pass over the rows: ERROR has no index), reserved rows
 * with their oldest (`>PROCESS_ID ""`: a range of the `(PROCESS_ID)` index). Queued rows are
 * the difference; their oldest row is the first queued row of the depth page, or else asked by
 * `queuedCommand` in the next request.
 */
export function headlineCommands(): Planned[] {
  return [
    { key: 'h:depth', command: listCommand({}, BY_TIME), cost: 'all' },
    { key: 'h:error', command: listCommand(FAILED, BY_TIME), cost: 'all' },
    { key: 'h:reserved', command: listCommand(RESERVED, BY_TIME), cost: 'reserved' },
  ];
}

/**
 * The queue's 50 newest rows (another count of the queue's index): only in polls that may
 * refresh the ages, whose commands it spares where its rows settle an age.
 */
export function newestCommand(): Planned {
  return { key: 'h:newest', command: listCommand({}, NEWEST_FIRST), cost: 'all' };
}

/** The queued rows' oldest rows, when the depth page held no queued row (one more pass). */
export function queuedCommand(): Planned {
  return { key: 'h:queued', command: listCommand(QUEUED, BY_TIME), cost: 'all' };
}

/**
 * Whether the `>PROCESS_ID ""` answer contradicts the depth page (confirmed by the server's
 * code, but a portal that reads it otherwise must not be trusted): a row it returned is not
 * reserved, or the queue's oldest rows hold more reserved rows than it counted.
 */
export function reservedFilterDisagrees(answers: Readonly<Record<string, CallAnswer>>): boolean {
  const reserved = totalOf(answers['h:reserved'], 'h:reserved');
  const page = pageRows(answers['h:reserved'] as CallAnswer);
  if (page.some((row) => row.status !== 'reserved')) return true;
  const inDepth = pageRows(answers['h:depth'] as CallAnswer).filter((r) => r.status === 'reserved');
  return inDepth.length > reserved;
}

/**
 * With queued rows counted too: whether the `>PROCESS_ID ""` total agrees with the documented
 * count, depth − queued − error, within what the queue may change between two commands of a
 * batch (a distrusted filter is trusted again from the next poll).
 */
export function reservedFilterAgrees(answers: Readonly<Record<string, CallAnswer>>): boolean {
  if (!('h:queued' in answers) || reservedFilterDisagrees(answers)) return false;
  const byFilter = totalOf(answers['h:reserved'], 'h:reserved');
  const byDifference = Math.max(
    0,
    totalOf(answers['h:depth'], 'h:depth') -
      totalOf(answers['h:queued'], 'h:queued') -
      totalOf(answers['h:error'], 'h:error'),
  );
  if (byFilter === 0 && byDifference > 0) return false;
  return Math.abs(byFilter - byDifference) <= Math.max(50, byDifference / 10);
}

/** Whether the headline read from the first request still needs `queuedCommand`. */
export function needsQueuedCommand(
  answers: Readonly<Record<string, CallAnswer>>,
  byDifference: boolean,
): boolean {
  if ('h:queued' in answers) return false;
  if (byDifference) return true;
  const depth = totalOf(answers['h:depth'], 'h:depth');
  const failed = totalOf(answers['h:error'], 'h:error');
  const reserved = totalOf(answers['h:reserved'], 'h:reserved');
  if (depth - failed - reserved <= 0) return false;
  const page = pageRows(answers['h:depth'] as CallAnswer);
  return !page.some((row) => row.status === 'queued');
}

function boundOf(rows: readonly Row[], complete: boolean): number | null {
  if (complete || rows.length < PAGE_SIZE) return null;
  return rows.at(-1)?.ts ?? null;
}

/**
 * The headline from its answers. `byDifference`: the `>PROCESS_ID ""` filter is distrusted, so
 * queued rows are counted (`h:queued`) and reserved rows are depth − queued − error, as the
 * docs count them (`!` filters are refused).
 */
export function readHeadline(
  answers: Readonly<Record<string, CallAnswer>>,
  byDifference = false,
): Headline {
  const keys = ['h:depth', 'h:error', 'h:reserved', 'h:queued', 'h:newest'];
  const totalsFromPages = keys.some((key) => lacksTotal(answers[key]));
  const depth = totalOf(answers['h:depth'], 'h:depth');
  const oldestRows = pageRows(answers['h:depth'] as CallAnswer);
  const queueComplete = oldestRows.length >= depth;
  const oldestBound = boundOf(oldestRows, queueComplete);
  const direct = (key: string, total: number): StatusView => {
    const rows = pageRows(answers[key] as CallAnswer);
    const complete = rows.length >= total;
    return {
      total,
      rows,
      complete,
      trusted: true,
      bound: boundOf(rows, complete),
      oldest: total > 0 ? (rows[0]?.ts ?? null) : null,
    };
  };
  const failed = totalOf(answers['h:error'], 'h:error');
  const differ = byDifference && 'h:queued' in answers;
  // The commands of one batch run one after another: a queue that changed in between can
  // make a difference negative by a few rows.
  const reserved = differ
    ? Math.max(0, depth - totalOf(answers['h:queued'], 'h:queued') - failed)
    : totalOf(answers['h:reserved'], 'h:reserved');
  const queued = Math.max(0, depth - failed - reserved);
  let queuedView: StatusView;
  if ('h:queued' in answers) {
    queuedView = direct('h:queued', queued);
  } else {
    // The depth page's queued rows are the oldest queued rows: any other is no older than
    // the page's last row.
    const rows = oldestRows.filter((row) => row.status === 'queued');
    const complete = queueComplete || rows.length >= queued;
    queuedView = {
      total: queued,
      rows,
      complete,
      trusted: true,
      bound: complete ? null : oldestBound,
      oldest: queued > 0 ? (rows[0]?.ts ?? null) : null,
    };
  }
  return {
    depth,
    statuses: {
      queued: queuedView,
      error: direct('h:error', failed),
      reserved: differ
        ? {
            total: reserved,
            rows: [],
            complete: false,
            trusted: false,
            bound: null,
            // the queue's oldest rows hold the oldest reserved row if they hold any
            oldest:
              reserved > 0
                ? ([...oldestRows, ...pageRows(answers['h:reserved'] as CallAnswer)].find(
                    (row) => row.status === 'reserved',
                  )?.ts ?? null)
                : null,
          }
        : direct('h:reserved', reserved),
    },
    oldestRows,
    oldestBound,
    newest: queueComplete
      ? [...oldestRows].reverse()
      : 'h:newest' in answers
        ? pageRows(answers['h:newest'] as CallAnswer)
        : [],
    newestComplete: queueComplete,
    reservedByDifference: differ,
    size: { rows: depth, reserved },
    totalsFromPages,
  };
}
