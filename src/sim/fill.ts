/**
 * Seeding a queue in bulk for tests and benchmarks: a million rows in well under a second,
 * with known counts per event name and status and timestamps spread over a known interval.
 */
import type { Status } from '../queue/snapshot.js';
import type { OfflineQueue } from './queue.js';
import type { Random } from './random.js';
import { seededRandom } from './random.js';

export type StatusCounts = Readonly<Partial<Record<Status, number>>>;

export interface FillSpec {
  /** Rows per event name and status, e.g. `{ ONCRMLEADADD: { queued: 900, error: 50 } }`. */
  readonly counts: Readonly<Record<string, StatusCounts>>;
  /** TIMESTAMP_X of the newest row, Unix ms. @default the portal clock's now */
  readonly newestMs?: number;
  /** TIMESTAMP_X of the oldest row; rows in between are spread evenly in ID order. @default newestMs − 1 h */
  readonly oldestMs?: number;
  /** Interleave names and statuses in a seeded random order; false keeps them grouped. @default true */
  readonly shuffle?: boolean;
  /** Reserved rows share a PROCESS_ID this many at a time. @default 50 */
  readonly rowsPerProcess?: number;
  /** When the reserved rows were reserved (for the record: expiry goes by TIMESTAMP_X). @default newestMs */
  readonly reservedAtMs?: number;
  /** Drives the shuffle. @default seededRandom(42) */
  readonly random?: Random;
}

export interface FillResult {
  readonly rows: number;
  /** IDs given to the new rows: firstId..lastId (0 and 0 when no row was added). */
  readonly firstId: number;
  readonly lastId: number;
}

const STATUS_CODES: Readonly<Record<Status, number>> = { queued: 0, reserved: 1, error: 2 };

/** Appends the rows of `spec` to `queue`. `nowMs` is the default of `newestMs`. */
export function fillQueue(queue: OfflineQueue, spec: FillSpec, nowMs: number): FillResult {
  const eventNames = Object.keys(spec.counts);
  const groups: { name: number; status: number; count: number }[] = [];
  eventNames.forEach((eventName, name) => {
    for (const [status, count] of Object.entries(spec.counts[eventName] ?? {})) {
      const code = STATUS_CODES[status as Status];
      if (code === undefined) throw new RangeError(`Unknown status: ${status}`);
      if (count === undefined || count <= 0) continue;
      if (!Number.isInteger(count)) throw new RangeError(`Row count must be an integer: ${count}`);
      groups.push({ name, status: code, count });
    }
  });
  const total = groups.reduce((sum, group) => sum + group.count, 0);
  const nameIndex = new Uint16Array(total);
  const statusOf = new Uint8Array(total);
  let at = 0;
  for (const group of groups) {
    nameIndex.fill(group.name, at, at + group.count);
    statusOf.fill(group.status, at, at + group.count);
    at += group.count;
  }
  if (spec.shuffle !== false) shuffle(nameIndex, statusOf, spec.random ?? seededRandom(42));

  const newest = spec.newestMs ?? nowMs;
  const oldest = spec.oldestMs ?? newest - 3_600_000;
  const timestampMs = new Float64Array(total);
  const span = newest - oldest;
  for (let k = 0; k < total; k++) {
    timestampMs[k] = total === 1 ? newest : oldest + Math.round((span * k) / (total - 1));
  }
  const error = new Uint8Array(total);
  const reserved = new Uint8Array(total);
  for (let k = 0; k < total; k++) {
    error[k] = statusOf[k] === STATUS_CODES.error ? 1 : 0;
    reserved[k] = statusOf[k] === STATUS_CODES.reserved ? 1 : 0;
  }
  const ids = queue.appendBulk({
    count: total,
    eventNames,
    nameIndex,
    timestampMs,
    error,
    reserved,
    rowsPerProcess: spec.rowsPerProcess ?? 50,
    reservedAtMs: spec.reservedAtMs ?? newest,
  });
  return { rows: total, ...ids };
}

/** Fisher–Yates over two parallel arrays. */
function shuffle(names: Uint16Array, statuses: Uint8Array, random: Random): void {
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const name = names[i]!;
    names[i] = names[j]!;
    names[j] = name;
    const status = statuses[i]!;
    statuses[i] = statuses[j]!;
    statuses[j] = status;
  }
}

/**
 * Spreads totals per status evenly over event names (the first names take the remainder):
 * `spreadCounts(['A', 'B'], { queued: 5 })` → `{ A: { queued: 3 }, B: { queued: 2 } }`.
 */
export function spreadCounts(
  eventNames: readonly string[],
  totals: StatusCounts,
): Record<string, StatusCounts> {
  const counts: Record<string, Partial<Record<Status, number>>> = {};
  for (const name of eventNames) counts[name] = {};
  for (const [status, total] of Object.entries(totals) as [Status, number | undefined][]) {
    const each = Math.floor((total ?? 0) / eventNames.length);
    const rest = (total ?? 0) % eventNames.length;
    eventNames.forEach((name, index) => {
      const entry = counts[name];
      if (entry !== undefined) entry[status] = each + (index < rest ? 1 : 0);
    });
  }
  return counts;
}
