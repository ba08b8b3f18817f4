/**
 * When a portal is left alone after a failure: after `OVERLOAD_LIMIT` (REST blocked by hand on
 * the portal) polls are skipped for a while; after `OPERATION_TIME_LIMIT` they send nothing
 * until the reset the portal named (each request would be refused and count toward the limit).
 */
import type { MonitorError } from '../b24/errors.js';

/** After `OVERLOAD_LIMIT` polling pauses this long. */
const OVERLOAD_PAUSE_MS = 15 * 60_000;

/**
 * After `OPERATION_TIME_LIMIT` with no `operating_reset_at` known, polls are skipped this long:
 * the server's window is made of one-minute baskets, so the limit lifts a minute at a time.
 */
const OPERATING_FALLBACK_PAUSE_MS = 60_000;

export class PortalPauses {
  /** Unix ms until which polls are skipped (OVERLOAD_LIMIT). */
  pausedUntil = 0;
  /** Unix ms until which the portal's operating time is known to be used up. */
  operatingUntil = 0;

  /** Why a poll starting at `now` (Unix ms) sends no request; undefined: it may. */
  holding(now: number): 'paused' | 'operating_limit' | undefined {
    if (now < this.pausedUntil) return 'paused';
    if (now < this.operatingUntil) return 'operating_limit';
    return undefined;
  }

  /** Learns from a failed poll's error, at `now` (Unix ms). */
  failed(error: MonitorError, now: number): void {
    if (
      error.code === 'B24_API_ERROR' &&
      'apiCode' in error &&
      error.apiCode === 'OVERLOAD_LIMIT'
    ) {
      this.pausedUntil = now + OVERLOAD_PAUSE_MS;
    }
    if (error.reason === 'operating_limit') {
      const resetAt = 'operatingResetAt' in error ? error.operatingResetAt : undefined;
      this.operatingUntil =
        typeof resetAt === 'number' && resetAt * 1000 > now
          ? resetAt * 1000
          : now + OPERATING_FALLBACK_PAUSE_MS;
    }
  }
}
