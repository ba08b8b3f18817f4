/**
 * Reads the queue once with the portal's strategy. `scan` scans; count and auto use the count
 * plan at every depth (a queue of at most 50 rows is read from the headline's own page); count
 * refreshes the breakdowns on every poll, auto as the database budget allows and at least every
 * 5 minutes. A portal that left out a `total` no page could replace is scanned instead (exact
 * without totals), and counting is tried again only after NO_TOTAL_RECHECK_MS.
 */
import type { PollStrategy } from '../config/types.js';
import type { QueueSnapshot } from '../queue/snapshot.js';
import type { Strategy } from '../queue/strategy.js';
import { MissingTotalError } from './parseAnswers.js';
import type { CountPlanner, PlanOutcome } from './plan.js';
import type { ScanInput } from './offlineList.js';
import { scanQueue } from './scan.js';

/**
 * After a count answered without `total`, polls scan instead of counting for this long, then
 * try counting again (a scan costs a request per 50 rows; a count without totals is nothing).
 */
const NO_TOTAL_RECHECK_MS = 60 * 60_000;

export interface QueueRead {
  readonly snapshot: QueueSnapshot;
  readonly strategy: Strategy;
  readonly plan?: PlanOutcome;
  /** The count plan could not be used (a `total` left out): the poll scanned instead. */
  readonly fallback?: 'scan';
}

export class QueueReader {
  readonly #strategy: PollStrategy;
  readonly #planner: CountPlanner;
  readonly #now: () => number;
  /** Unix ms until which the count strategy scans instead (the portal sent no `total`). */
  #noTotalUntil = 0;

  constructor(strategy: PollStrategy, planner: CountPlanner, now: () => number) {
    this.#strategy = strategy;
    this.#planner = planner;
    this.#now = now;
  }

  /** `onStrategy` hears each strategy as it starts: a failed poll reports the one it failed in. */
  async read(
    input: ScanInput,
    startedAt: number,
    onStrategy: (strategy: Strategy) => void,
  ): Promise<QueueRead> {
    if (this.#strategy === 'scan') {
      onStrategy('scan');
      return { snapshot: await scanQueue(input), strategy: 'scan' };
    }
    if (this.#now() >= this.#noTotalUntil) {
      onStrategy('count');
      try {
        const plan = await this.#planner.poll({ ...input, nowMs: startedAt });
        return { snapshot: plan.snapshot, strategy: 'count', plan };
      } catch (error) {
        if (!(error instanceof MissingTotalError)) throw error;
        this.#noTotalUntil = this.#now() + NO_TOTAL_RECHECK_MS;
      }
    }
    onStrategy('scan');
    return { snapshot: await scanQueue(input), strategy: 'scan', fallback: 'scan' };
  }
}
