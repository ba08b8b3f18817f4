/**
 * Snapshots cross the process boundary as JSON (a Map does not), and are compared with the
 * simulated portal's ground truth field by field, naming the first difference.
 */
import {
  AGE_THRESHOLDS,
  STATUSES,
  type QueueSnapshot,
  type StatusStats,
} from '../src/queue/snapshot.js';

export interface SnapshotJson {
  readonly takenAt: number;
  readonly depth: number;
  readonly groups: readonly (readonly [string, StatusStats])[];
  readonly olderThan: QueueSnapshot['olderThan'];
}

export function toJson(snapshot: QueueSnapshot): SnapshotJson {
  return {
    takenAt: snapshot.takenAt,
    depth: snapshot.depth,
    groups: [...snapshot.groups.entries()],
    olderThan: snapshot.olderThan,
  };
}

/** Null when equal, else the first difference in words. */
export function difference(actual: SnapshotJson, truth: QueueSnapshot): string | null {
  if (actual.takenAt !== truth.takenAt) return `takenAt ${actual.takenAt} ≠ ${truth.takenAt}`;
  if (actual.depth !== truth.depth) return `depth ${actual.depth} ≠ ${truth.depth}`;
  const groups = new Map(actual.groups);
  const names = new Set([...groups.keys(), ...truth.groups.keys()]);
  for (const name of names) {
    const mine = groups.get(name);
    const real = truth.groups.get(name);
    if (mine === undefined || real === undefined) return `event name ${name} missing on one side`;
    for (const status of STATUSES) {
      const a = mine[status];
      const b = real[status];
      if (a.count !== b.count) return `${name} ${status} count ${a.count} ≠ ${b.count}`;
      if (a.oldest !== b.oldest) return `${name} ${status} oldest ${a.oldest} ≠ ${b.oldest}`;
    }
  }
  for (const status of STATUSES) {
    for (const age of AGE_THRESHOLDS) {
      const a = actual.olderThan[status][age];
      const b = truth.olderThan[status][age];
      if (a !== b) return `${status} older than ${age} s: ${a} ≠ ${b}`;
    }
  }
  return null;
}
