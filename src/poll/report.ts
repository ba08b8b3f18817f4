/** What one poll of a portal returns: the status page and the CLI read it. */
import type { MonitorError } from '../b24/errors.js';
import type { GroupStats, QueueSnapshot, Status } from '../queue/snapshot.js';
import type { Strategy } from '../queue/strategy.js';
import type { PlanOutcome } from './plan.js';

export interface PollReport {
  readonly portal: string;
  readonly ok: boolean;
  /**
   * Set when the poll did not run: the portal is paused (OVERLOAD_LIMIT), its operating time
   * is used up until a known reset (counted as a failure), or the poll was aborted.
   */
  readonly skipped?: 'paused' | 'operating_limit' | 'aborted';
  readonly startedAt: number;
  readonly durationMs: number;
  readonly requests: number;
  readonly strategy?: Strategy | undefined;
  /** Set when the count strategy could not count (no `total`) and the queue was scanned. */
  readonly fallback?: 'scan' | undefined;
  readonly snapshot?: QueueSnapshot | undefined;
  readonly counts?: Record<Status, number> | undefined;
  /** Rows and oldest row per status, as of this poll (the count plan's headline, or the scan). */
  readonly headline?: Readonly<Record<Status, GroupStats>> | undefined;
  /** Unix seconds the per-name and per-age figures were last refreshed. */
  readonly breakdownAt?: number | undefined;
  /** Server time the portal reported for this poll's commands (sum of `processing`). */
  readonly processingSeconds?: number | undefined;
  /** Breakdowns the count plan refreshed in this poll (none: a headline poll). */
  readonly refreshed?: PlanOutcome['refreshed'] | undefined;
  /** A breakdown request timed out (the poll kept the older breakdowns). */
  readonly breakdownTimedOut?: boolean | undefined;
  readonly error?: MonitorError | undefined;
}
