/**
 * The queues measured: a realistic mix of event names (a few busy, most quiet), statuses
 * about 85 % queued, 10 % error, 5 % reserved, timestamps spread over ten days.
 */
import type { FillSpec, StatusCounts } from '../src/sim/index.js';

export const EVENT_NAMES_8 = [
  'ONCRMLEADADD',
  'ONCRMLEADUPDATE',
  'ONCRMDEALADD',
  'ONCRMDEALUPDATE',
  'ONCRMCONTACTADD',
  'ONCRMCONTACTUPDATE',
  'ONCRMCOMPANYADD',
  'ONTASKADD',
] as const;

/** The count strategy's target holds up to 16 event names. */
export const EVENT_NAMES_16 = [
  ...EVENT_NAMES_8,
  'ONCRMCOMPANYUPDATE',
  'ONTASKUPDATE',
  'ONCRMACTIVITYADD',
  'ONCRMACTIVITYUPDATE',
  'ONCRMINVOICEADD',
  'ONUSERADD',
  'ONCALENDARENTRYADD',
  'ONIMCONNECTORMESSAGEADD',
] as const;

const SPAN_MS = 10 * 86_400_000;

const STATUS_SHARES = { error: 0.1, reserved: 0.05 } as const;

/** Weights falling by a third from one name to the next, at least 1 % each. */
function weights(count: number): number[] {
  const raw = Array.from({ length: count }, (_, i) => Math.max(0.01, 0.3 * 0.75 ** i));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / sum);
}

/** Rows per event name and status, adding up to exactly `rows`. */
export function queueMix(rows: number, names: readonly string[]): Record<string, StatusCounts> {
  const shares = weights(names.length);
  const perName = shares.map((share) => Math.floor(rows * share));
  perName[0] = (perName[0] ?? 0) + rows - perName.reduce((a, b) => a + b, 0);
  const counts: Record<string, StatusCounts> = {};
  names.forEach((name, i) => {
    const total = perName[i] ?? 0;
    const error = Math.floor(total * STATUS_SHARES.error);
    const reserved = Math.floor(total * STATUS_SHARES.reserved);
    counts[name] = { queued: total - error - reserved, error, reserved };
  });
  return counts;
}

export function fillSpec(rows: number, names: readonly string[], nowMs: number): FillSpec {
  return { counts: queueMix(rows, names), newestMs: nowMs - 1000, oldestMs: nowMs - SPAN_MS };
}

export function formatRows(rows: number): string {
  if (rows >= 1_000_000 && rows % 1_000_000 === 0) return `${rows / 1_000_000}M`;
  if (rows >= 1_000 && rows % 1_000 === 0) return `${rows / 1_000}k`;
  return String(rows);
}
