/** Small statistics for the tables. */
import type { LatencyStats } from './protocol.js';

/** The middle value, or the mean of the two middle values; NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[half] ?? Number.NaN)
    : ((sorted[half - 1] ?? Number.NaN) + (sorted[half] ?? Number.NaN)) / 2;
}

/** Nearest-rank quantile (q in 0..1); NaN for no values. */
function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export function mb(bytes: number): number {
  return round(bytes / 1_048_576, 1);
}

/** `process.resourceUsage().maxRSS` is in kilobytes. */
export function maxRssMb(): number {
  return round(process.resourceUsage().maxRSS / 1024, 1);
}

/** Nearest-rank p50, p90, p99 and the maximum of latencies in ms. */
export function latencyStats(samples: readonly number[]): LatencyStats {
  return {
    count: samples.length,
    p50Ms: round(quantile(samples, 0.5), 2),
    p90Ms: round(quantile(samples, 0.9), 2),
    p99Ms: round(quantile(samples, 0.99), 2),
    maxMs: round(Math.max(...samples), 2),
  };
}
