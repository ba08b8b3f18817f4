/**
 * Which event names of a portal get series of their own. A portal decides what names its
 * queue holds: one that shows new names on every poll once grew to 450,000 series and 1.28 GB
 * in 50 s, and every name learnt made every later count poll dearer. So:
 * - at most `cap` names are admitted (first come, first served); the rest of a poll's rows
 *   are added up under `event_name="other"`, so that sums over names stay exact;
 * - a name longer than MAX_EVENT_NAME_LENGTH is never admitted (a label value, and no real
 *   Bitrix24 event name is that long): its rows count under `other` too;
 * - an admitted name is forgotten once it has been neither bound nor seen with rows for
 *   `forgetAfterMs`; its slot is free again and its series go.
 * What is remembered is O(cap), whatever the portal sends.
 */
import { STATUSES, type QueueSnapshot, type StatusStats } from '../queue/snapshot.js';

/** The `event_name` of rows whose name has no series of its own. */
export const OTHER_EVENT_NAME = 'other';
/** Longest `event_name` label value. */
export const MAX_EVENT_NAME_LENGTH = 128;
/** @default one hour */
const DEFAULT_FORGET_AFTER_MS = 3_600_000;

export interface EventNameBookOptions {
  /** Names with series of their own. */
  readonly cap: number;
  /** @default DEFAULT_FORGET_AFTER_MS */
  readonly forgetAfterMs?: number | undefined;
}

export class EventNameBook {
  readonly cap: number;
  readonly #forgetAfterMs: number;
  /** Admitted names and when each was last bound or seen with rows (Unix ms). */
  readonly #lastSeen = new Map<string, number>();

  constructor(options: EventNameBookOptions) {
    this.cap = options.cap;
    this.#forgetAfterMs = options.forgetAfterMs ?? DEFAULT_FORGET_AFTER_MS;
  }

  /** The names to ask about in the next poll (at most `cap`); forgets the expired ones first. */
  known(now: number): string[] {
    for (const [name, seen] of this.#lastSeen) {
      if (now - seen > this.#forgetAfterMs) this.#lastSeen.delete(name);
    }
    return [...this.#lastSeen.keys()];
  }

  /**
   * The snapshot as exported: admitted names keep their groups, the others are summed into
   * `other`. `asked` are the names `known()` gave this poll: a name in the snapshot that was
   * not asked about came from the queue or from `event.get` this time, so it counts as seen.
   */
  fold(snapshot: QueueSnapshot, asked: ReadonlySet<string>, now: number): QueueSnapshot {
    const groups = new Map<string, StatusStats>();
    let other: StatusStats | undefined;
    for (const [name, stats] of snapshot.groups) {
      const seen = !asked.has(name) || STATUSES.some((status) => stats[status].count > 0);
      if (this.#admit(name, seen, now)) {
        groups.set(name, stats);
        continue;
      }
      other ??= {
        queued: { count: 0, oldest: null },
        reserved: { count: 0, oldest: null },
        error: { count: 0, oldest: null },
      };
      for (const status of STATUSES) {
        const into = other[status];
        const from = stats[status];
        into.count += from.count;
        if (from.oldest !== null && (into.oldest === null || from.oldest < into.oldest)) {
          into.oldest = from.oldest;
        }
      }
    }
    // A real name spelled `other` is never admitted: its rows add up there as well.
    if (other !== undefined) groups.set(OTHER_EVENT_NAME, other);
    return { ...snapshot, groups };
  }

  #admit(name: string, seen: boolean, now: number): boolean {
    if (this.#lastSeen.has(name)) {
      if (seen) this.#lastSeen.set(name, now);
      return true;
    }
    if (name.length > MAX_EVENT_NAME_LENGTH || name === OTHER_EVENT_NAME) return false;
    if (this.#lastSeen.size >= this.cap) return false;
    this.#lastSeen.set(name, now);
    return true;
  }
}
