/** What a poll's outcome says in its report, its metrics and its log line. */
import type { GroupStats, QueueSnapshot, Status } from '../queue/snapshot.js';
import type { PlanOutcome } from './plan.js';
import type { QueueRead } from './reader.js';
import type { PollReport } from './report.js';

/** Rows and oldest row per status of a whole snapshot (a scan's headline). */
export function headlineOf(snapshot: QueueSnapshot): Record<Status, GroupStats> {
  const totals: Record<Status, GroupStats> = {
    queued: { count: 0, oldest: null },
    reserved: { count: 0, oldest: null },
    error: { count: 0, oldest: null },
  };
  for (const stats of snapshot.groups.values()) {
    for (const status of ['queued', 'reserved', 'error'] as const) {
      const group = stats[status];
      totals[status].count += group.count;
      const oldest = totals[status].oldest;
      if (group.oldest !== null && (oldest === null || group.oldest < oldest)) {
        totals[status].oldest = group.oldest;
      }
    }
  }
  return totals;
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

export function countsOf(headline: Readonly<Record<Status, GroupStats>>): Record<Status, number> {
  return {
    queued: headline.queued.count,
    reserved: headline.reserved.count,
    error: headline.error.count,
  };
}

/** What the count plan did, for the poll's log line. */
function planFields(plan: PlanOutcome, startedAt: number): Record<string, unknown> {
  return {
    breakdown: plan.refreshed.length === 0 ? 'none' : plan.refreshed.join('+'),
    ...(plan.decision === null ? {} : { breakdownWhy: plan.decision.why }),
    ...(plan.breakdownAt === null
      ? {}
      : { breakdownAgeSeconds: Math.max(0, Math.round(startedAt / 1000 - plan.breakdownAt)) }),
    ...(plan.namesInOther > 0
      ? { namesCounted: plan.namesCounted, namesInOther: plan.namesInOther }
      : {}),
    ...(plan.reservedByDifference ? { reservedByDifference: true } : {}),
    ...(plan.breakdownTimedOut ? { breakdownTimedOut: true } : {}),
  };
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
