/**
 * What a command of the count plan costs the portal, in rows its database examines, and the
 * server's speed learnt from the `processing` time it reports. Every `event.offline.list`
 * command runs a `COUNT(*)` of the rows its filter matches plus a 50-row page; the table
 * (`b_rest_event_offline`) has indexes on `(APP_ID, CONNECTOR_ID)`, `(PROCESS_ID)` and
 * `(TIMESTAMP_X)`, none on `EVENT_NAME` or `ERROR`. With N rows in the application's queue and
 * R of them reserved, what EXPLAIN shows on MariaDB 10.11 at 1M rows:
 *
 * | filter                                      | plan (EXPLAIN)                          | rows examined |
 * | ------------------------------------------- | --------------------------------------- | ------------- |
 * | none                                        | `ref_or_null` on `(APP_ID, CONNECTOR_ID)`, index only | N |
 * | `=PROCESS_ID ""` (+ `ERROR`, `EVENT_NAME`)  | `ALL`: `IS NULL OR = ''` matches most rows, the table is read | N |
 * | `EVENT_NAME` or `ERROR` alone               | `ALL` (no index)                        | N             |
 * | `>PROCESS_ID ""` (+ `EVENT_NAME`)           | `range` on `(PROCESS_ID)`               | R             |
 * | any of the above + a `TIMESTAMP_X` bound holding a small share of the rows | `range` on `(TIMESTAMP_X)` | the rows in the range |
 * | a `TIMESTAMP_X` bound holding more (≥ 10 % at 1M rows) | `ALL`, as without it         | N (R for `>PROCESS_ID ""`) |
 *
 * So a count of queued or error rows costs a pass over the table however few rows it
 * matches, unless a narrow time range bounds it: the plan asks an age from the side of the
 * cutoff with fewer rows (breakdown.ts). One unit below is one `COUNT(*)` over the whole
 * queue (N rows): on MariaDB at 1M rows 170–390 ms on an idle machine. The plan never knows
 * the real figure in advance: it learns seconds per row from the answers
 * (`result_time[…].processing`) and plans the next poll with it.
 */

/** What the portal's answers said the queue holds: the headline of the poll. */
export interface QueueSize {
  /** All rows. */
  readonly rows: number;
  readonly reserved: number;
}

/** Which index a command's filter can use: what decides its cost. */
export type CostClass = 'all' | 'reserved' | 'none';

/**
 * A `TIMESTAMP_X` range holding at most this share of the queue is read through its index;
 * a wider one is read as if unbounded (MariaDB chose `ALL` at 10 % and `range` at 2.5 % at 1M).
 */
export const RANGE_SHARE = 0.05;

/** A command's cost: its class, and the rows of its `TIMESTAMP_X` range when it has one. */
export interface Costed {
  readonly cost: CostClass;
  /** Estimated rows of the queue in the command's `TIMESTAMP_X` range. */
  readonly rangeRows?: number;
}

/** Rows the database examines for one command. A floor of 50: a page is never free. */
export function rowsExamined(command: Costed, size: QueueSize): number {
  const byClass =
    command.cost === 'all' ? size.rows : command.cost === 'reserved' ? size.reserved : 0;
  if (command.cost === 'none') return 0;
  const range = command.rangeRows;
  const bounded =
    range !== undefined && range <= RANGE_SHARE * size.rows ? Math.min(byClass, range) : byClass;
  return Math.max(50, bounded);
}

/**
 * Seconds per examined row the portal has shown. Starts from the measured MariaDB figure
 * (about 0.3 s per million rows) so that a first poll of a large queue is planned as if the
 * portal were that slow; an answer that timed out counts as at least as slow as its timeout.
 */
export class ServerSpeed {
  static readonly INITIAL_SECONDS_PER_ROW = 3e-7;
  #secondsPerRow = ServerSpeed.INITIAL_SECONDS_PER_ROW;

  get secondsPerRow(): number {
    return this.#secondsPerRow;
  }

  estimate(rows: number): number {
    return rows * this.#secondsPerRow;
  }

  /** One answer: `seconds` of processing for `rows` examined rows (by the model). */
  observe(rows: number, seconds: number): void {
    if (rows < 1000 || !(seconds >= 0)) return; // too small to say anything about the server
    const measured = seconds / rows;
    // Slower answers are believed at once (they are what a timeout is made of); faster ones
    // move the estimate half the way in ratio (geometric mean), so that one lucky answer does
    // not overload the next poll, while a guess made from a timeout is unlearnt in a few polls.
    this.#secondsPerRow =
      measured > this.#secondsPerRow ? measured : Math.sqrt(this.#secondsPerRow * measured);
  }

  /** A request of `rows` examined rows did not answer within `timeoutSeconds`. */
  timedOut(rows: number, timeoutSeconds: number): void {
    if (rows > 0) this.#secondsPerRow = Math.max(this.#secondsPerRow, timeoutSeconds / rows);
  }
}
