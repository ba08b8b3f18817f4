/**
 * The count plan's estimates: the rows a command makes the database examine (cost.ts) at the
 * speed the server has shown in its answers, and the plan's commands packed into requests by
 * those estimates. One per planner: what it learns from one poll sizes the next.
 */
import { rowsExamined, ServerSpeed, type QueueSize } from './cost.js';
import type { Planned } from './headline.js';
import { pack } from './pack.js';

export class Estimator {
  readonly #speed = new ServerSpeed();

  /** @param timeoutSeconds the request timeout: a request that timed out took at least this. */
  constructor(readonly timeoutSeconds: number) {}

  /** Seconds per examined row the plan currently believes. */
  get secondsPerRow(): number {
    return this.#speed.secondsPerRow;
  }

  /** Rows the commands make the database examine, with `size` rows in the queue. */
  rows(planned: readonly Planned[], size: QueueSize): number {
    return planned.reduce((sum, p) => sum + rowsExamined(p, size), 0);
  }

  /** Seconds the commands should take together. */
  seconds(planned: readonly Planned[], size: QueueSize): number {
    return this.#speed.estimate(this.rows(planned, size));
  }

  /** Seconds one command should take. */
  secondsOf(p: Planned, size: QueueSize): number {
    return this.#speed.estimate(rowsExamined(p, size));
  }

  /** The commands in at most `limit` requests of at most `capSeconds` each (pack.ts). */
  pack(
    planned: readonly Planned[],
    size: QueueSize,
    limit: number,
    capSeconds: number,
  ): Planned[][] {
    return pack(planned, (p) => this.secondsOf(p, size), limit, capSeconds);
  }

  /** A request of these commands answered in `seconds` of processing. */
  observe(planned: readonly Planned[], size: QueueSize, seconds: number): void {
    this.#speed.observe(this.rows(planned, size), seconds);
  }

  /** A request of these commands did not answer within the request timeout. */
  timedOut(planned: readonly Planned[], size: QueueSize): void {
    this.#speed.timedOut(this.rows(planned, size), this.timeoutSeconds);
  }
}
