/**
 * The poll plans the SQL bench measures. A monitor plan is a value of the `strategy` setting
 * (MONITOR_STRATEGY), so a new plan is benchmarked by adding its name here or passing it in
 * `--sql-plans`: any name that is not `sdk` is handed to the monitor as its strategy.
 */

interface MonitorPlan {
  readonly kind: 'monitor';
  readonly name: string;
  /** Polls in one child (the first is a fresh process's, which knows no event names yet). */
  readonly polls: number;
  /** How its database time grows with the queue, to skip a size that would take too long. */
  readonly growth: 'linear' | 'quadratic';
  /** Its work depends on the number of event names (a listing's does not). */
  readonly byNames: boolean;
}

interface SdkPlan {
  readonly kind: 'sdk';
  readonly name: 'sdk';
  readonly polls: number;
  readonly growth: 'quadratic';
  readonly byNames: false;
}

export type SqlPlan = MonitorPlan | SdkPlan;

/** Keyset listings pay a COUNT of the remaining rows on every page: rows² / 50 in all. */
const QUADRATIC = new Set(['scan', 'sdk']);

/** The default list: today's count plan, the scan, and the official SDK's keyset list. */
export const DEFAULT_SQL_PLANS = ['count', 'scan', 'sdk'] as const;

export function sqlPlan(name: string, polls: number): SqlPlan {
  if (name === 'sdk') {
    return { kind: 'sdk', name: 'sdk', polls: 1, growth: 'quadratic', byNames: false };
  }
  const listing = QUADRATIC.has(name);
  // a listing that runs into the poll deadline tells nothing new on its second poll
  return {
    kind: 'monitor',
    name,
    polls: listing ? 1 : polls,
    growth: listing ? 'quadratic' : 'linear',
    byNames: !listing,
  };
}
