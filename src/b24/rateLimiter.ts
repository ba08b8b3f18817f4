/**
 * Client-side leaky bucket, the same model as the portal's own limit (a bucket per portal that
 * holds N requests and drains R per second). Keeping the monitor's bucket well under the
 * portal's leaves room for the application being monitored, which shares the portal's budget.
 */
import { PORTAL_DEFAULTS } from '../config/settings.js';
import { type Clock, raceAbort, systemClock } from './clock.js';

export interface RateLimiterOptions {
  /** Requests the bucket holds: how many may go out back to back. @default PORTAL_DEFAULTS, as the next */
  readonly capacity?: number;
  /** Requests per second the bucket drains: the sustained rate. */
  readonly drainPerSecond?: number;
  /** @default systemClock */
  readonly clock?: Clock;
}

/** Float noise must not turn "exactly full" into "over by 1e-16" and a zero-length wait. */
const EPSILON = 1e-9;

export class RateLimiter {
  readonly capacity: number;
  readonly drainPerSecond: number;
  readonly #clock: Clock;
  #level = 0;
  #updatedAt: number;
  /** Turns are taken in call order: each acquire waits for the previous one's turn. */
  #tail: Promise<void> = Promise.resolve();

  constructor(options: RateLimiterOptions = {}) {
    this.capacity = options.capacity ?? PORTAL_DEFAULTS['rateLimit.capacity'];
    this.drainPerSecond = options.drainPerSecond ?? PORTAL_DEFAULTS['rateLimit.drainPerSecond'];
    if (!(this.capacity >= 1) || !Number.isFinite(this.capacity)) {
      throw new RangeError(`RateLimiter capacity must be a number >= 1, got ${this.capacity}`);
    }
    if (!(this.drainPerSecond > 0) || !Number.isFinite(this.drainPerSecond)) {
      throw new RangeError(`RateLimiter drainPerSecond must be > 0, got ${this.drainPerSecond}`);
    }
    this.#clock = options.clock ?? systemClock;
    this.#updatedAt = this.#clock.now();
  }

  /**
   * Resolves when one more request fits in the bucket, in call order (FIFO). Rejects with
   * AbortedError when `signal` aborts; an aborted waiter takes no room.
   */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.#tail.then(() => this.#take(signal));
    this.#tail = turn.catch(() => undefined);
    return raceAbort(turn, signal);
  }

  /** Requests currently in the bucket (drained up to now). */
  level(): number {
    this.#drain();
    return this.#level;
  }

  #drain(): void {
    const now = this.#clock.now();
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#level = Math.max(0, this.#level - (elapsed * this.drainPerSecond) / 1000);
    this.#updatedAt = now;
  }

  async #take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (signal?.aborted) return; // gave up while queued: leave the room to the next one
      this.#drain();
      const excess = this.#level + 1 - this.capacity;
      if (excess <= EPSILON) {
        this.#level += 1;
        return;
      }
      await this.#clock.sleep(Math.ceil((excess * 1000) / this.drainPerSecond), signal);
    }
  }
}
