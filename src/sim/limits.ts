/**
 * The portal's two limits. The request rate: a leaky bucket per portal (each request adds one,
 * the bucket drains at a steady rate, a full bucket answers 503 QUERY_LIMIT_EXCEEDED; a batch
 * is one request). The operating time: server seconds each method may use per application in
 * ten one-minute baskets (429 OPERATION_TIME_LIMIT while the window holds the limit).
 */
import type { Clock } from './clock.js';

export interface RateLimitOptions {
  /** Requests the bucket holds (the burst). @default 50 */
  readonly capacity: number;
  /** Requests per second it drains. @default 2 */
  readonly drainPerSecond: number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = { capacity: 50, drainPerSecond: 2 };

export class LeakyBucket {
  private level = 0;
  private lastMs: number;

  constructor(
    readonly options: RateLimitOptions,
    private readonly clock: Clock,
  ) {
    this.lastMs = clock.now();
  }

  /** Adds one request; false when the bucket is full (the request is refused, not counted). */
  tryTake(): boolean {
    this.drain();
    if (this.level + 1 > this.options.capacity) return false;
    this.level += 1;
    return true;
  }

  /** Requests in the bucket now. */
  current(): number {
    this.drain();
    return this.level;
  }

  private drain(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.lastMs) / 1000;
    this.level = Math.max(0, this.level - elapsed * this.options.drainPerSecond);
    this.lastMs = now;
  }
}

export interface OperatingLimitOptions {
  /** Seconds of processing a method may use per window. @default 480 */
  readonly limitSec: number;
  /** The sliding window, made of ten equal baskets (one minute each by default). @default 600 */
  readonly windowSec: number;
  /** Seconds added to every call's processing time (cost model: per call). @default 0 */
  readonly extraCostSec: number;
  /**
   * Seconds added per row of the queue an `event.offline.list` call examines (cost model: its
   * `COUNT(*)` and page read the application's queue, about 0.17–0.39 µs a row on MariaDB with
   * a million rows: 2.8e-7 is realistic, ≈ 280 ms per million rows). @default 0
   */
  readonly rowCostSec: number;
  /**
   * The limiter is active for a method once its usage in the window reaches this many seconds;
   * only then do answers carry `operating` and `operating_reset_at`. The docs do not say when
   * the limiter activates; the answers they quote from cloud portals carry `operating: 0`, so
   * it is active from the first call there: the default. A higher level simulates a portal
   * whose answers have no operating figures until a method has used that much. @default 0
   */
  readonly activeFromSec: number;
}

export const DEFAULT_OPERATING_LIMIT: OperatingLimitOptions = {
  limitSec: 480,
  windowSec: 600,
  extraCostSec: 0,
  rowCostSec: 0,
  activeFromSec: 0,
};

/** Baskets of a window: the server keeps ten one-minute baskets per method and application. */
const OPERATING_BASKETS = 10;

export interface OperatingUsage {
  /** Seconds used in the last ten baskets (`time.operating`). */
  readonly operating: number;
  /**
   * Unix seconds when the usage counted now has left the window, i.e. when `operating` is
   * back to 0 (`time.operating_reset_at`); with no usage, now + the window, as cloud answers
   * with `operating: 0` show.
   */
  readonly resetAt: number;
  /** Usage reached `limitSec`: calls of the method answer 429 until enough baskets age out. */
  readonly blocked: boolean;
  /** Usage reached `activeFromSec`: answers carry the operating figures. */
  readonly active: boolean;
}

/**
 * Operating time per method in a sliding window of ten baskets: a call's seconds go to the
 * basket of the moment it ends; a basket leaves the window ten baskets later. Once the baskets
 * in the window add up to `limitSec` the method is refused until old baskets leave and the sum
 * falls below it.
 */
export class OperatingMeter {
  /** method → basket index (since the epoch) → seconds. */
  private readonly baskets = new Map<string, Map<number, number>>();

  constructor(
    readonly options: OperatingLimitOptions,
    private readonly clock: Clock,
  ) {}

  private get basketMs(): number {
    return (this.options.windowSec * 1000) / OPERATING_BASKETS;
  }

  usage(method: string): OperatingUsage {
    const now = this.clock.now();
    const baskets = this.current(method, now);
    let operating = 0;
    let newest = -Infinity;
    for (const [index, seconds] of baskets) {
      operating += seconds;
      newest = Math.max(newest, index);
    }
    const resetMs =
      newest === -Infinity
        ? now + this.options.windowSec * 1000
        : (newest + OPERATING_BASKETS) * this.basketMs;
    return {
      operating,
      resetAt: Math.floor(resetMs / 1000),
      blocked: operating >= this.options.limitSec,
      active: operating >= this.options.activeFromSec,
    };
  }

  /** The seconds a call costs by the model: measured, plus per call, plus per examined row. */
  cost(measuredSec: number, rowsExamined: number): number {
    return measuredSec + this.options.extraCostSec + rowsExamined * this.options.rowCostSec;
  }

  /** Counts a call's processing seconds against its method. */
  charge(method: string, processingSec: number): void {
    const now = this.clock.now();
    const baskets = this.current(method, now);
    const index = Math.floor(now / this.basketMs);
    baskets.set(index, (baskets.get(index) ?? 0) + processingSec);
  }

  /** The method's baskets still in the window at `now` (older ones dropped). */
  private current(method: string, now: number): Map<number, number> {
    let baskets = this.baskets.get(method);
    if (baskets === undefined) {
      baskets = new Map();
      this.baskets.set(method, baskets);
    }
    const oldest = Math.floor(now / this.basketMs) - OPERATING_BASKETS + 1;
    for (const index of baskets.keys()) if (index < oldest) baskets.delete(index);
    return baskets;
  }
}
