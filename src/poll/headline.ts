/**
 * The headline of every poll, 4 commands in one batch (with `event.get`): the queue's depth
 * with its 50 newest rows, and each status's total with its 50 oldest rows. What these pages
 * show is used again by the breakdowns (see breakdown.ts): a status of at most 50 rows is
 * known row by row, and ages outside a status's [oldest, newest] need no command.
 */
import { BadResponseError } from '../b24/errors.js';
import type { BatchCommand, CallAnswer, Params } from '../b24/types.js';
import type { CostClass, QueueSize } from './cost.js';
import { MissingTotalError, parseRows, parseTimestamp, parseTotal } from './rows.js';
import { listParams, PAGE_SIZE } from './scan.js';
import { rowStatus, STATUSES, type Status } from './snapshot.js';

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
  queued: 'unreserved',
  error: 'unreserved',
  reserved: 'reserved',
};

/** A command of the plan, with the index its filter can use. */
export interface Planned {
  readonly key: string;
  readonly command: BatchCommand;
  readonly cost: CostClass;
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
  /** Smallest TIMESTAMP_X, null when empty. */
  readonly oldest: number | null;
}

export interface Headline {
  readonly depth: number;
  readonly statuses: Readonly<Record<Status, StatusView>>;
  /** The queue's newest rows, newest first (up to 50). */
  readonly newest: readonly Row[];
  /** `newest` holds every row of the queue. */
  readonly newestComplete: boolean;
  /**
   * The `>PROCESS_ID ""` total did not equal depth − queued − error (the documented count of
   * reserved rows): reserved rows are counted as differences of totals.
   */
  readonly reservedByDifference: boolean;
  readonly size: QueueSize;
  /** Some total was taken from a short page because the portal left it out. */
  readonly totalsFromPages: boolean;
}

export function headlineCommands(): Planned[] {
  const planned: Planned[] = [
    { key: 'h:depth', command: listCommand({}, NEWEST_FIRST), cost: 'all' },
  ];
  for (const status of STATUSES) {
    planned.push({
      key: `h:${status}`,
      command: listCommand(STATUS_FILTER[status], BY_TIME),
      cost: STATUS_COST[status],
    });
  }
  return planned;
}

export function readHeadline(answers: Readonly<Record<string, CallAnswer>>): Headline {
  const keys = ['h:depth', 'h:queued', 'h:error', 'h:reserved'];
  const totalsFromPages = keys.some((key) => lacksTotal(answers[key]));
  const depth = totalOf(answers['h:depth'], 'h:depth');
  const newest = pageRows(answers['h:depth'] as CallAnswer);
  const view = (status: Status, total: number, trusted: boolean): StatusView => {
    const rows = trusted ? pageRows(answers[`h:${status}`] as CallAnswer) : [];
    return {
      total,
      rows,
      complete: trusted && rows.length >= total,
      trusted,
      oldest: total > 0 ? (rows[0]?.ts ?? null) : null,
    };
  };
  const queued = totalOf(answers['h:queued'], 'h:queued');
  const failed = totalOf(answers['h:error'], 'h:error');
  const reservedByFilter = totalOf(answers['h:reserved'], 'h:reserved');
  // `!` filters are refused, so the documented count of reserved rows is a difference; the
  // `>PROCESS_ID ""` filter (confirmed by the server's code) is trusted unless it disagrees by
  // more than the queue may change between two commands of one batch, or finds nothing where
  // the difference says rows are reserved. Distrusted, reserved rows are counted as differences.
  const byDifference = Math.max(0, depth - queued - failed);
  const reservedByDifference =
    (reservedByFilter === 0 && byDifference > 0) ||
    Math.abs(reservedByFilter - byDifference) > Math.max(50, byDifference / 10);
  const reserved = reservedByDifference ? byDifference : reservedByFilter;
  const reservedView = view('reserved', reserved, !reservedByDifference);
  return {
    depth,
    statuses: {
      queued: view('queued', queued, true),
      error: view('error', failed, true),
      reserved: reservedByDifference
        ? {
            ...reservedView,
            oldest:
              reserved > 0 ? (pageRows(answers['h:reserved'] as CallAnswer)[0]?.ts ?? null) : null,
          }
        : reservedView,
    },
    newest,
    newestComplete: newest.length >= depth,
    reservedByDifference,
    size: { rows: depth, unreserved: queued + failed, reserved },
    totalsFromPages,
  };
}
