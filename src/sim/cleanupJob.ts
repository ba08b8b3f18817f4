/**
 * The portal's cleanup of forgotten reservations, as the server runs it: an agent once a day
 * deletes reserved rows whose TIMESTAMP_X is older than the PROCESS_ID lifetime. This is its
 * calendar; the queue does the deleting.
 */

/**
 * Reserved rows whose TIMESTAMP_X is older than this are deleted by the portal's cleanup job
 * (inferred from the server code; the age counts from the row's last change, not from its
 * reservation, since reserving does not touch TIMESTAMP_X).
 */
export const PROCESS_ID_LIFETIME_SEC = 2_952_000;

/** The cleanup job runs once a day (an agent), at whole multiples of this since the epoch. */
const CLEANUP_INTERVAL_SEC = 86_400;

export class CleanupJob {
  private readonly lifetimeMs: number;
  private readonly intervalMs: number;
  /** The last run, as a count of intervals since the epoch. */
  private lastRun: number;

  /** A job whose last run is the latest at or before `nowMs`. */
  constructor(nowMs: number, lifetimeSec: number | undefined, intervalSec: number | undefined) {
    this.lifetimeMs = (lifetimeSec ?? PROCESS_ID_LIFETIME_SEC) * 1000;
    this.intervalMs = (intervalSec ?? CLEANUP_INTERVAL_SEC) * 1000;
    this.lastRun = Math.floor(nowMs / this.intervalMs);
  }

  /** When a run fell due since the last one (at `nowMs` or before): its time, now taken; else null. */
  due(nowMs: number): number | null {
    const run = Math.floor(nowMs / this.intervalMs);
    if (run <= this.lastRun) return null;
    this.lastRun = run;
    return run * this.intervalMs;
  }

  /** A run at `atMs` deletes reserved rows with TIMESTAMP_X before this. */
  cutoff(atMs: number): number {
    return atMs - this.lifetimeMs;
  }
}
