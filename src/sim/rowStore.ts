/**
 * The columns of one queue's rows: typed arrays for ID, TIMESTAMP_X, name index, flags and
 * reservation slot, grown by doubling and compacted when more than half the rows are deleted.
 * Rows are appended in ID order, so an ID is found by binary search; a Fenwick tree over live
 * rows counts an ID range and finds the k-th live row in O(log n). Event names are interned:
 * a row holds the index of its (upper-cased) name.
 *
 * Only the columns live here; what hangs off a row by its number (payloads, explicit
 * MESSAGE_IDs, reservations) is the queue's, which remaps it after `compactIfSparse`.
 */
import { Fenwick } from './fenwick.js';
import { FLAG_DELETED, FLAG_ERROR, FLAG_RESERVED } from './plan.js';
import type { IdSequence, LiveRow, QueueColumns } from './queueTypes.js';

// Local copies: hot loops should read plain constants, not imported bindings (which module
// runners such as vitest's turn into property reads).
const BIT_DELETED = FLAG_DELETED;
const BIT_ERROR = FLAG_ERROR;
const BIT_RESERVED = FLAG_RESERVED;

const COMPACT_MIN_DELETED = 1024;

type Column = Float64Array | Uint16Array | Uint8Array | Int32Array;

/** TIMESTAMP_X is kept in whole seconds, as the server's DATETIME column holds it. */
export function wholeSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

export class RowStore {
  /** Rows in use, deleted ones included: [0, length). */
  length = 0;
  /** Rows not deleted. */
  live = 0;
  ids: Float64Array;
  ts: Float64Array;
  names: Uint16Array;
  flags: Uint8Array;
  /** Reservation slot of each row; 0 = not reserved. */
  procs: Int32Array;
  fenwick: Fenwick;
  /** Event names by name index, upper case. */
  readonly nameTexts: string[] = [];
  private readonly nameIndex = new Map<string, number>();

  constructor(initialCapacity: number) {
    const capacity = Math.max(1, initialCapacity);
    this.ids = new Float64Array(capacity);
    this.ts = new Float64Array(capacity);
    this.names = new Uint16Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.procs = new Int32Array(capacity);
    this.fenwick = new Fenwick(capacity);
  }

  /** Appends one live, unreserved row without ERROR, its ID from `ids`; returns its row number. */
  append(ids: IdSequence, timestampMs: number, eventName: string): number {
    this.ensureCapacity(this.length + 1);
    const row = this.length++;
    this.ids[row] = ids.next();
    this.ts[row] = timestampMs;
    this.names[row] = this.internName(eventName);
    this.flags[row] = 0;
    this.procs[row] = 0;
    this.fenwick.add(row, 1);
    this.live++;
    return row;
  }

  /** The name index of an event name (upper-cased), added on first sight. */
  internName(name: string): number {
    const upper = name.toUpperCase();
    let index = this.nameIndex.get(upper);
    if (index === undefined) {
      if (this.nameTexts.length >= 0xffff) throw new RangeError('Too many event names');
      index = this.nameTexts.length;
      this.nameTexts.push(upper);
      this.nameIndex.set(upper, index);
    }
    return index;
  }

  /** The live row with this ID, or -1. */
  rowOf(id: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ids[mid]! < id) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.length && this.ids[lo] === id && (this.flags[lo]! & BIT_DELETED) === 0
      ? lo
      : -1;
  }

  /** Calls `visit` for every live row in ID order. */
  forEachLive(visit: (row: LiveRow) => void): void {
    const { ids, ts, names, flags, nameTexts } = this;
    for (let row = 0; row < this.length; row++) {
      const flag = flags[row]!;
      if ((flag & BIT_DELETED) !== 0) continue;
      visit({
        id: ids[row]!,
        timestampMs: ts[row]!,
        eventName: nameTexts[names[row]!]!,
        reserved: (flag & BIT_RESERVED) !== 0,
        error: (flag & BIT_ERROR) !== 0,
      });
    }
  }

  /** The columns as they are now (see `OfflineQueue.columns`). */
  columns(): QueueColumns {
    const { length, ids, ts, names, flags, nameTexts } = this;
    return { length, ids, ts, names, flags, nameTexts };
  }

  /** Marks a row deleted: it leaves the live count and the Fenwick tree, its slot stays. */
  markDeleted(row: number): void {
    this.flags[row]! |= BIT_DELETED;
    this.fenwick.add(row, -1);
    this.live--;
  }

  ensureCapacity(needed: number): void {
    const capacity = this.ids.length;
    if (needed <= capacity) return;
    let next = capacity;
    while (next < needed) next *= 2;
    this.resize(next);
  }

  /** After rows were written straight into the columns (bulk appends). */
  rebuildFenwick(capacity: number): void {
    const flags = this.flags;
    this.fenwick = Fenwick.build(capacity, this.length, (row) => (flags[row]! & BIT_DELETED) === 0);
  }

  /**
   * Drops deleted rows once they are the majority, renumbering rows (IDs never change).
   * Returns the new number of each old row (-1 for a dropped one), or null when it did nothing.
   */
  compactIfSparse(): Int32Array | null {
    const deleted = this.length - this.live;
    if (deleted < COMPACT_MIN_DELETED || deleted * 2 <= this.length) return null;
    const { ids, ts, names, flags, procs } = this;
    const moved = new Int32Array(this.length).fill(-1);
    let write = 0;
    for (let row = 0; row < this.length; row++) {
      if ((flags[row]! & BIT_DELETED) !== 0) continue;
      moved[row] = write;
      ids[write] = ids[row]!;
      ts[write] = ts[row]!;
      names[write] = names[row]!;
      flags[write] = flags[row]!;
      procs[write] = procs[row]!;
      write++;
    }
    this.length = write;
    const capacity = Math.max(16, this.length * 2);
    if (capacity * 2 < this.ids.length) this.resize(capacity);
    else this.rebuildFenwick(this.ids.length);
    return moved;
  }

  private resize(capacity: number): void {
    const grow = <T extends Column>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old.subarray(0, this.length));
      return next;
    };
    this.ids = grow(this.ids, (n) => new Float64Array(n));
    this.ts = grow(this.ts, (n) => new Float64Array(n));
    this.names = grow(this.names, (n) => new Uint16Array(n));
    this.flags = grow(this.flags, (n) => new Uint8Array(n));
    this.procs = grow(this.procs, (n) => new Int32Array(n));
    this.rebuildFenwick(capacity);
  }
}
