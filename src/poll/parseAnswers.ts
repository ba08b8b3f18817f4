/** Turning validated answers into what the snapshot needs. */
import { z } from 'zod';
import { BadResponseError } from '../b24/errors.js';
import { OfflineListResult, type OfflineRow } from '../b24/schemas.js';

/**
 * ISO 8601 date and time with an explicit offset, as the portal writes `TIMESTAMP_X`
 * (`2024-05-01T10:00:00+03:00`). `Date.parse` alone takes `"1"` for 2001 and reads values
 * without an offset in local time: a garbled value would become a plausible date.
 */
const ISO_WITH_OFFSET =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-]([01]\d|2[0-3]):?[0-5]\d)$/;

/** `TIMESTAMP_X` (ISO 8601 with offset) → Unix seconds. */
export function parseTimestamp(value: string, method = 'event.offline.list'): number {
  const ms = ISO_WITH_OFFSET.test(value) ? Date.parse(value) : NaN;
  // The value is not quoted: a broken portal may echo anything, tokens included.
  if (Number.isNaN(ms)) {
    throw new BadResponseError(method, 'TIMESTAMP_X is not an ISO 8601 date with an offset');
  }
  return Math.floor(ms / 1000);
}

export function parseRows(result: unknown, method = 'event.offline.list'): OfflineRow[] {
  const parsed = OfflineListResult.safeParse(result);
  if (!parsed.success) throw new BadResponseError(method, describeIssue(parsed.error));
  return parsed.data;
}

const Handler = z
  .object({
    event: z.string().min(1),
    offline: z.union([z.number(), z.string(), z.boolean()]).optional(),
    connector_id: z.union([z.string(), z.number(), z.null()]).optional(),
  })
  .loose();

/**
 * Event names the application has bound offline for the watched `connector` (none: the queue
 * without connector), from `event.get`: names bound for another connector fill another queue.
 */
export function parseOfflineEventNames(result: unknown, connector?: string): string[] {
  const parsed = z.array(Handler).safeParse(result);
  if (!parsed.success) throw new BadResponseError('event.get', describeIssue(parsed.error));
  const names = new Set<string>();
  for (const handler of parsed.data) {
    const offline = handler.offline === 1 || handler.offline === '1' || handler.offline === true;
    if (offline && String(handler.connector_id ?? '') === (connector ?? '')) {
      names.add(handler.event.toUpperCase());
    }
  }
  return [...names];
}

/**
 * An answer without `total`: the documented rule of list methods lets a portal leave it out
 * (with `start: -1`). Not a broken portal: a strategy that needs totals falls back to a scan.
 */
export class MissingTotalError extends BadResponseError {
  constructor(method: string) {
    super(method, 'total is missing');
  }
}

/** `total`: a safe non-negative integer (1e30 or 2^53 + 1 is no count of rows). */
export function parseTotal(value: unknown, method = 'event.offline.list'): number {
  if (value === undefined) throw new MissingTotalError(method);
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : NaN;
  if (Number.isSafeInteger(n) && n >= 0) return n;
  throw new BadResponseError(method, 'total is missing or not a count');
}

/** `total` when the answer has one (checked like `parseTotal`), else undefined. */
export function optionalTotal(value: unknown, method = 'event.offline.list'): number | undefined {
  return value === undefined ? undefined : parseTotal(value, method);
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'unexpected shape';
  const path = issue.path.length > 0 ? issue.path.join('.') : 'result';
  return `${path}: ${issue.message}`;
}
