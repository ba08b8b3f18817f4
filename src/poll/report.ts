/** What one poll of a portal returns (the status page and the CLI read it) and its log line. */
import type { MonitorError } from '../b24/errors.js';
import type { GroupStats, QueueSnapshot, Status } from '../queue/snapshot.js';
import type { Strategy } from '../queue/strategy.js';
import { planFields, round6 } from './outcome.js';
import type { QueueRead } from './reader.js';

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
  readonly error?: MonitorError | undefined;
}

/** The fields of a successful poll's log line. */
export function finishedFields(report: PollReport, read: QueueRead): Record<string, unknown> {
  const { snapshot, plan } = read;
  return {
    strategy: report.strategy,
    // The count strategy needs totals; without them the queue was scanned instead.
    ...(read.fallback === undefined ? {} : { fallback: read.fallback }),
    // The portal sent no `total`: the depth is the rows the scan saw, or the plan took
    // its counts from pages shorter than 50 rows.
    ...(snapshot.totalMissing === true || plan?.totalsFromPages === true
      ? { totalMissing: true }
      : {}),
    ...(plan?.totalsFromPages === true ? { fallback: 'short pages' } : {}),
    durationMs: report.durationMs,
    requests: report.requests,
    depth: snapshot.depth,
    ...report.counts,
    eventNames: snapshot.groups.size,
    processingSeconds: round6(report.processingSeconds ?? 0),
    ...(plan === undefined ? {} : planFields(plan, report.startedAt)),
  };
}
