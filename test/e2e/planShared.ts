/**
 * What the count plan's end-to-end files share (plan, planBudget, planCost, planTail): a plan
 * portal per test, closed after it; a poll that must succeed; the truth per status; the
 * queue shapes both files poll.
 */
import { afterEach } from 'vitest';
import type { PollReport } from '../../src/poll/report.js';
import { STATUSES, type QueueSnapshot, type Status } from '../../src/queue/snapshot.js';
import { startPlanPortal, type PlanPortal } from '../helpers/planPortal.js';

export const DAY = 86_400_000;

export const names8 = Array.from({ length: 8 }, (_, i) => `ONCRMEVENT${i}`);

/** 20,000 rows over 8 names, a fifth of them not queued. */
export const STUCK_COUNTS = Object.fromEntries(
  names8.map((n) => [n, { queued: 2_000, reserved: 100, error: 400 }]),
);

/** Starts plan portals for the tests of a file; each is closed after its test. */
export function usePlanPortals(): (
  options: Parameters<typeof startPlanPortal>[0],
) => Promise<PlanPortal> {
  let open: PlanPortal[] = [];
  afterEach(async () => {
    for (const p of open) await p.close();
    open = [];
  });
  return async (options) => {
    const p = await startPlanPortal(options);
    open.push(p);
    return p;
  };
}

export function statusTruth(
  truth: QueueSnapshot,
): Record<Status, { count: number; oldest: number | null }> {
  const out = {
    queued: { count: 0, oldest: null as number | null },
    reserved: { count: 0, oldest: null as number | null },
    error: { count: 0, oldest: null as number | null },
  };
  for (const stats of truth.groups.values()) {
    for (const s of STATUSES) {
      out[s].count += stats[s].count;
      const o = stats[s].oldest;
      if (o !== null && (out[s].oldest === null || o < out[s].oldest!)) out[s].oldest = o;
    }
  }
  return out;
}

export async function pollOk(p: PlanPortal): Promise<PollReport> {
  const report = await p.poller.poll();
  if (!report.ok) throw new Error(`poll failed: ${report.error?.message}`);
  return report;
}
