/**
 * The portal's two limits. The request rate: a leaky bucket per portal (each request adds one,
 * the bucket drains at a steady rate, a full bucket answers 503 QUERY_LIMIT_EXCEEDED; a batch
 * is one request). The operating time: server seconds each method may use per application in
 * a 10-minute window (429 OPERATION_TIME_LIMIT until `operating_reset_at`).
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
  /** @default 600 */
  readonly windowSec: number;
  /** Seconds added to every call's measured processing time, to reach the limit fast in tests. @default 0 */
  readonly extraCostSec: number;
}

export const DEFAULT_OPERATING_LIMIT: OperatingLimitOptions = {
  limitSec: 480,
  windowSec: 600,
  extraCostSec: 0,
};

export interface OperatingUsage {
  /** Seconds used in the current window (`time.operating`). */
  readonly operating: number;
  /** Unix seconds when the window ends (`time.operating_reset_at`). */
  readonly resetAt: number;
  readonly blocked: boolean;
}

interface Window {
  startMs: number;
  used: number;
}

/**
 * Operating time per method, in fixed windows: a window opens with the first call after the
 * previous one ended; once a method has used `limitSec` it is refused until the window ends.
 */
export class OperatingMeter {
  private readonly windows = new Map<string, Window>();

  constructor(
    readonly options: OperatingLimitOptions,
    private readonly clock: Clock,
  ) {}

  usage(method: string): OperatingUsage {
    const now = this.clock.now();
    const window = this.current(method, now);
    const windowMs = this.options.windowSec * 1000;
    return {
      operating: window?.used ?? 0,
      resetAt: Math.floor(((window?.startMs ?? now) + windowMs) / 1000),
      blocked: window !== undefined && window.used >= this.options.limitSec,
    };
  }

  /** Counts a call's processing time (plus the configured extra cost) against its method. */
  charge(method: string, processingSec: number): void {
    const now = this.clock.now();
    let window = this.current(method, now);
    if (window === undefined) {
      window = { startMs: now, used: 0 };
      this.windows.set(method, window);
    }
    window.used += processingSec + this.options.extraCostSec;
  }

  private current(method: string, now: number): Window | undefined {
    const window = this.windows.get(method);
    if (window !== undefined && now >= window.startMs + this.options.windowSec * 1000) {
      this.windows.delete(method);
      return undefined;
    }
    return window;
  }
}
