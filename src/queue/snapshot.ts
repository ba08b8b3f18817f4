/**
 * The pure core: rows of the queue in, a snapshot of the contract's metrics out. No I/O.
 * Memory is O(event names), not O(rows): rows are folded in one at a time.
 */
export const STATUSES = ['queued', 'reserved', 'error'] as const;
export type Status = (typeof STATUSES)[number];

/** The `age` label values of `b24_offline_events_older_than`, in seconds. */
export const AGE_THRESHOLDS = [60, 300, 900, 3600, 21600, 86400, 604800] as const;
export type AgeThreshold = (typeof AGE_THRESHOLDS)[number];

export interface GroupStats {
  count: number;
  /** Smallest TIMESTAMP_X of the group, Unix seconds; null when the group is empty. */
  oldest: number | null;
}

export type StatusStats = Record<Status, GroupStats>;

export interface QueueSnapshot {
  /** Unix seconds the ages are measured from (the poll's start). */
  readonly takenAt: number;
  /** `total` reported by the portal for the whole queue (or the rows a scan saw, without it). */
  readonly depth: number;
  /** The portal sent no `total`: `depth` is the number of rows the scan saw. */
  readonly totalMissing?: true;
  /** Rows by event name and status; every known event name has all three statuses. */
  readonly groups: ReadonlyMap<string, StatusStats>;
  /** Rows of a status older than each threshold. */
  readonly olderThan: Readonly<Record<Status, Readonly<Record<AgeThreshold, number>>>>;
}

/** The contract's partition of the queue. */
export function rowStatus(processId: string, error: number): Status {
  if (processId !== '') return 'reserved';
  return error === 1 ? 'error' : 'queued';
}

function emptyStats(): StatusStats {
  return {
    queued: { count: 0, oldest: null },
    reserved: { count: 0, oldest: null },
    error: { count: 0, oldest: null },
  };
}

export function emptyAgeCounts(): Record<AgeThreshold, number> {
  return Object.fromEntries(AGE_THRESHOLDS.map((age) => [age, 0])) as Record<AgeThreshold, number>;
}

/**
 * Folds rows into a snapshot one at a time. Known event names (bound offline, or seen before)
 * are present with zero counts even when the queue holds none of them.
 */
export class SnapshotBuilder {
  readonly #takenAt: number;
  readonly #groups = new Map<string, StatusStats>();
  readonly #olderThan: Record<Status, Record<AgeThreshold, number>> = {
    queued: emptyAgeCounts(),
    reserved: emptyAgeCounts(),
    error: emptyAgeCounts(),
  };

  constructor(takenAt: number, knownEventNames: Iterable<string> = []) {
    this.#takenAt = takenAt;
    for (const name of knownEventNames) this.#group(name);
  }

  /** One row: `timestamp` in Unix seconds. */
  add(eventName: string, status: Status, timestamp: number): void {
    const stats = this.#group(eventName)[status];
    stats.count += 1;
    if (stats.oldest === null || timestamp < stats.oldest) stats.oldest = timestamp;
    const age = this.#takenAt - timestamp;
    const counts = this.#olderThan[status];
    for (const threshold of AGE_THRESHOLDS) {
      if (age > threshold) counts[threshold] += 1;
      else break; // thresholds ascend: a row younger than one is younger than the rest
    }
  }

  /** Sets a group's figures directly (the count strategy learns them from totals). */
  setGroup(eventName: string, status: Status, count: number, oldest: number | null): void {
    const stats = this.#group(eventName)[status];
    stats.count = count;
    stats.oldest = count > 0 ? oldest : null;
  }

  setOlderThan(status: Status, threshold: AgeThreshold, count: number): void {
    this.#olderThan[status][threshold] = count;
  }

  finish(depth: number): QueueSnapshot {
    return { takenAt: this.#takenAt, depth, groups: this.#groups, olderThan: this.#olderThan };
  }

  #group(name: string): StatusStats {
    let stats = this.#groups.get(name);
    if (stats === undefined) {
      stats = emptyStats();
      this.#groups.set(name, stats);
    }
    return stats;
  }
}

/** Totals by status over every event name. */
export function countsByStatus(snapshot: QueueSnapshot): Record<Status, number> {
  const totals: Record<Status, number> = { queued: 0, reserved: 0, error: 0 };
  for (const stats of snapshot.groups.values()) {
    for (const status of STATUSES) totals[status] += stats[status].count;
  }
  return totals;
}
