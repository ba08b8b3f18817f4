/**
 * How much of the portal's database time the monitor may spend, and so how often the
 * breakdowns (by event name, by age) are refreshed. Credit accrues at `share` of wall time and
 * every answer's `processing` is paid from it; a breakdown runs when the credit covers its
 * estimate, and in any case before it would be older than `maxAgeMs` (the freshness promise
 * wins over the share, never over the portal's own limit: the monitor's time over the last
 * 10 minutes stays under half the 480 s that `OPERATION_TIME_LIMIT` allows a method).
 */

/** The breakdowns are never older than this. */
const BREAKDOWN_MAX_AGE_MS = 5 * 60_000;
/** The portal allows a method 480 s of server time per 10 minutes; the monitor takes half at most. */
const OPERATING_WINDOW_MS = 10 * 60_000;
const OPERATING_GUARD_SECONDS = 240;

export interface BudgetOptions {
  /** Share of wall time the monitor's database time may take. @default 0.05 */
  readonly share: number;
  /** @default BREAKDOWN_MAX_AGE_MS */
  readonly maxAgeMs?: number;
}

export type BreakdownDecision =
  | { readonly run: true; readonly why: 'first' | 'budget' | 'max_age' | 'always' }
  | { readonly run: false; readonly why: 'budget' | 'operating_guard' };

export class DatabaseBudget {
  readonly share: number;
  readonly maxAgeMs: number;
  #credit = 0;
  #lastMs: number | null = null;
  /** Wall time between the last two polls: how far ahead "before it is too old" looks. */
  #intervalMs = 0;
  /** Processing seconds by Unix ms, for the last 10 minutes. */
  #spent: { at: number; seconds: number }[] = [];

  constructor(options: BudgetOptions) {
    this.share = options.share;
    this.maxAgeMs = options.maxAgeMs ?? BREAKDOWN_MAX_AGE_MS;
  }

  /** Seconds the monitor may still spend now. */
  get credit(): number {
    return this.#credit;
  }

  /** Most a whole breakdown should cost so that the average stays within the share. */
  breakdownAllowance(headlineSeconds: number): number {
    const interval = Math.max(1000, this.#intervalMs || 30_000);
    const polls = this.maxAgeMs / interval;
    return Math.max(0, this.share * (this.maxAgeMs / 1000) - headlineSeconds * polls);
  }

  /** A poll starts: credit for the wall time since the last one (at most one max age's worth). */
  tick(nowMs: number): void {
    if (this.#lastMs !== null) {
      const elapsed = Math.max(0, nowMs - this.#lastMs);
      this.#intervalMs = elapsed;
      this.#credit = Math.min(
        this.#credit + (this.share * elapsed) / 1000,
        (this.share * this.maxAgeMs) / 1000,
      );
    }
    this.#lastMs = nowMs;
    this.#spent = this.#spent.filter((entry) => entry.at > nowMs - OPERATING_WINDOW_MS);
  }

  spend(nowMs: number, seconds: number): void {
    if (!(seconds > 0)) return;
    this.#credit -= seconds;
    this.#spent.push({ at: nowMs, seconds });
  }

  /** The monitor's own processing seconds over the last 10 minutes. */
  spentInWindow(): number {
    return this.#spent.reduce((sum, entry) => sum + entry.seconds, 0);
  }

  /**
   * Whether a breakdown refreshed at `lastMs` must be refreshed in the poll starting at
   * `nowMs`, when the refresh takes `polls` polls (a slow server's names in one, ages in the
   * next): the next poll starts an interval later and answers some seconds after that (the
   * breakdowns a scrape sees until then are the old ones), and schedules jitter by some
   * milliseconds, so the refresh runs once waiting one more interval and a half would pass
   * the max age.
   */
  due(nowMs: number, lastMs: number, polls = 1): boolean {
    const interval = this.#intervalMs || 30_000;
    return nowMs - lastMs + (polls + 0.5) * interval > this.maxAgeMs;
  }

  /**
   * Whether a breakdown whose last refresh was at `lastMs` (null: never) and that would cost
   * about `estimate` seconds runs in the poll starting at `nowMs`.
   */
  decide(
    nowMs: number,
    lastMs: number | null,
    estimate: number,
    always: boolean,
    polls = 1,
  ): BreakdownDecision {
    if (this.spentInWindow() + estimate > OPERATING_GUARD_SECONDS) {
      return { run: false, why: 'operating_guard' };
    }
    if (always) return { run: true, why: 'always' };
    if (lastMs === null) return { run: true, why: 'first' };
    if (this.due(nowMs, lastMs, polls)) return { run: true, why: 'max_age' };
    if (this.#credit >= estimate) return { run: true, why: 'budget' };
    return { run: false, why: 'budget' };
  }
}
