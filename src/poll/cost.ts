/**
 * What a command of the count plan costs the portal, in rows its database examines, and the
 * server's speed learnt from the `processing` time it reports. Every `event.offline.list`
 * command runs a `COUNT(*)` of the rows its filter matches plus a 50-row page; the table
 * (`b_rest_event_offline`) has indexes on `(APP_ID, CONNECTOR_ID)`, `(PROCESS_ID)` and
 * `(TIMESTAMP_X)`, none on `EVENT_NAME` or `ERROR`. So, with N rows in the application's
 * queue, U of them unreserved (queued + error) and R reserved:
 *
 * | filter                                   | rows examined (best index)          |
 * | ---------------------------------------- | ----------------------------------- |
 * | none                                     | N (`APP_ID, CONNECTOR_ID`)          |
 * | `=PROCESS_ID ""` (+ `ERROR`, `EVENT_NAME`) | U (MariaDB 10.11 reads the table: N) |
 * | `>PROCESS_ID ""` (+ `EVENT_NAME`)          | R (`PROCESS_ID`)                    |
 * | the above + `<TIMESTAMP_X t`               | at most the same, fewer when few rows are older than t (`TIMESTAMP_X`) |
 * | `EVENT_NAME` or `ERROR` alone              | N (no index)                        |
 *
 * (EXPLAIN at 1M rows, 5 % reserved: `=PROCESS_ID ""` is `type=ALL`, one pass over the table,
 * rather than U lookups through the `PROCESS_ID` index; the model keeps U, 95 % of N there.)
 * One unit below is one `COUNT(*)` over the whole queue (N rows); on MariaDB at 1M rows that
 * is 170–390 ms. The plan never knows the real figure in advance: it learns seconds per row
 * from the answers (`result_time[…].processing`) and plans the next poll with it.
 */

/** What the portal's answers said the queue holds: the headline of the poll. */
export interface QueueSize {
  /** All rows. */
  readonly rows: number;
  /** Rows with an empty PROCESS_ID (queued + error). */
  readonly unreserved: number;
  readonly reserved: number;
}

/** Which index a command's filter can use: what decides its cost. */
export type CostClass = 'all' | 'unreserved' | 'reserved' | 'none';

/** Rows the database examines for one command of `cls`. A floor of 50: a page is never free. */
export function rowsExamined(cls: CostClass, size: QueueSize): number {
  switch (cls) {
    case 'all':
      return Math.max(50, size.rows);
    case 'unreserved':
      return Math.max(50, size.unreserved);
    case 'reserved':
      return Math.max(50, size.reserved);
    case 'none':
      return 0;
  }
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
