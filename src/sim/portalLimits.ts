/**
 * The limits of one portal as its requests meet them: a leaky bucket per source address (the
 * server keeps one per portal and address) and the operating-time meter of its methods. Both
 * can be replaced while the portal runs; replacing one starts it afresh.
 */
import type { Clock } from './clock.js';
import { DEFAULT_OPERATING_LIMIT, LeakyBucket, OperatingMeter } from './limits.js';
import type { RateLimitOptions } from './limits.js';
import type { PortalSettings } from './portalOptions.js';

/** Buckets kept before drained ones are forgotten. */
const BUCKETS_BEFORE_SWEEP = 1024;

export class PortalLimits {
  private rateLimit: RateLimitOptions | null = null;
  /** Leaky buckets by source address. */
  private readonly buckets = new Map<string, LeakyBucket>();
  private meter: OperatingMeter | null = null;
  private readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** The operating-time meter; null when the limit is off. */
  get operating(): OperatingMeter | null {
    return this.meter;
  }

  /** Replaces the limits `settings` name (undefined: kept; null: off). */
  configure(settings: Pick<PortalSettings, 'rateLimit' | 'operatingLimit'>): void {
    if (settings.rateLimit !== undefined) {
      this.rateLimit = settings.rateLimit;
      this.buckets.clear();
    }
    if (settings.operatingLimit !== undefined) {
      this.meter =
        settings.operatingLimit === null
          ? null
          : new OperatingMeter(
              { ...DEFAULT_OPERATING_LIMIT, ...settings.operatingLimit },
              this.clock,
            );
    }
  }

  /** One request from `source` into its bucket; false when the bucket is full. */
  takeFromBucket(source: string): boolean {
    if (this.rateLimit === null) return true;
    let bucket = this.buckets.get(source);
    if (bucket === undefined) {
      if (this.buckets.size >= BUCKETS_BEFORE_SWEEP) {
        // Forget drained buckets so that many addresses cannot grow the map without end.
        for (const [address, old] of this.buckets)
          if (old.current() === 0) this.buckets.delete(address);
      }
      bucket = new LeakyBucket(this.rateLimit, this.clock);
      this.buckets.set(source, bucket);
    }
    return bucket.tryTake();
  }
}
