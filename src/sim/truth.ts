/**
 * The ground truth a test compares the monitor's snapshot with, computed from the queue's rows
 * directly with the contract's definitions (not with the monitor's code):
 * queued = PROCESS_ID empty and ERROR 0; reserved = PROCESS_ID set; error = PROCESS_ID empty
 * and ERROR 1; "older than `age`" = TIMESTAMP_X more than `age` seconds before `nowSec`.
 */
import type { AgeThreshold, QueueSnapshot, Status, StatusStats } from '../poll/snapshot.js';
import { AGE_THRESHOLDS, STATUSES } from '../poll/snapshot.js';
import type { OfflineQueue } from './queue.js';

export type Truth = QueueSnapshot;

function emptyStats(): StatusStats {
  return {
    queued: { count: 0, oldest: null },
    reserved: { count: 0, oldest: null },
    error: { count: 0, oldest: null },
  };
}

/**
 * @param nowSec Unix seconds the ages are measured from (becomes `takenAt`).
 * @param boundNames Event names bound offline: present in `groups` even with no rows.
 */
export function computeTruth(
  queue: OfflineQueue,
  nowSec: number,
  boundNames: Iterable<string> = [],
): Truth {
  const groups = new Map<string, StatusStats>();
  for (const name of boundNames) groups.set(name.toUpperCase(), emptyStats());
  const olderThan = {} as Record<Status, Record<AgeThreshold, number>>;
  for (const status of STATUSES) {
    olderThan[status] = Object.fromEntries(AGE_THRESHOLDS.map((age) => [age, 0])) as Record<
      AgeThreshold,
      number
    >;
  }
  let depth = 0;
  queue.forEachLive((row) => {
    depth++;
    const status: Status = row.reserved ? 'reserved' : row.error ? 'error' : 'queued';
    let stats = groups.get(row.eventName);
    if (stats === undefined) {
      stats = emptyStats();
      groups.set(row.eventName, stats);
    }
    const group = stats[status];
    const seconds = Math.floor(row.timestampMs / 1000);
    group.count++;
    if (group.oldest === null || seconds < group.oldest) group.oldest = seconds;
    const age = nowSec - seconds;
    const counts = olderThan[status];
    for (const threshold of AGE_THRESHOLDS) if (age > threshold) counts[threshold]++;
  });
  return { takenAt: nowSec, depth, groups, olderThan };
}
