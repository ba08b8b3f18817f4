/**
 * Reading a queue's rows by a compiled plan (plan.ts): how many match (what `total` reports)
 * and which rows make a page of them in an order. ID ranges count and page in O(log n) with
 * the Fenwick tree; other filters scan, and their counts are cached per queue version, since a
 * monitor asks the same counts again and again while the queue stands still.
 */
import type { OrderKey } from './filter.js';
import type { ColumnView, Plan, RowComparator } from './plan.js';
import { FLAG_DELETED, compileOrder } from './plan.js';
import type { RowStore } from './rowStore.js';

const BIT_DELETED = FLAG_DELETED;

const COUNT_CACHE_LIMIT = 512;

/** Counts of plans, remembered by plan key until the queue's version changes. */
export class PlanCounter {
  private readonly cache = new Map<string, number>();
  private cacheVersion = -1;

  /** Live rows matching `plan` in a queue at `version`. */
  count(plan: Plan, rows: RowStore, version: number): number {
    if (plan.empty) return 0;
    if (plan.predicate === null) return rows.fenwick.prefix(plan.hi) - rows.fenwick.prefix(plan.lo);
    if (plan.key === '') return plan.count();
    if (this.cacheVersion !== version) {
      this.cache.clear();
      this.cacheVersion = version;
    }
    let count = this.cache.get(plan.key);
    if (count === undefined) {
      count = plan.count();
      if (this.cache.size >= COUNT_CACHE_LIMIT) this.cache.clear();
      this.cache.set(plan.key, count);
    }
    return count;
  }
}

/** Row numbers of up to `limit` live rows matching `plan` in `order`, after skipping `offset`. */
export function selectRows(
  rows: RowStore,
  plan: Plan,
  order: readonly OrderKey[],
  offset: number,
  limit: number,
  view: ColumnView,
): number[] {
  if (plan.empty || limit <= 0) return [];
  const first = order[0];
  if (first === undefined || first.field === 'ID') {
    return selectInIdOrder(rows, plan, first?.desc === true, offset, limit);
  }
  return selectSorted(rows, plan, compileOrder(order, view), offset, limit);
}

/** Rows are stored in ID order: walk the range, or jump with the Fenwick tree. */
function selectInIdOrder(
  rows: RowStore,
  plan: Plan,
  desc: boolean,
  offset: number,
  limit: number,
): number[] {
  const out: number[] = [];
  if (plan.predicate === null) {
    const { fenwick } = rows;
    const before = fenwick.prefix(plan.lo);
    const inRange = fenwick.prefix(plan.hi) - before;
    for (let k = offset; k < inRange && out.length < limit; k++) {
      out.push(fenwick.select(desc ? before + inRange - k : before + k + 1));
    }
    return out;
  }
  const { flags } = rows;
  const test = plan.predicate;
  let skip = offset;
  const step = desc ? -1 : 1;
  for (let row = desc ? plan.hi - 1 : plan.lo; row >= plan.lo && row < plan.hi; row += step) {
    if ((flags[row]! & BIT_DELETED) !== 0 || !test(row)) continue;
    if (skip > 0) skip--;
    else if (out.push(row) >= limit) break;
  }
  return out;
}

/** Other orders: collect the matches, then a bounded heap (or a full sort for deep pages). */
function selectSorted(
  rows: RowStore,
  plan: Plan,
  compare: RowComparator,
  offset: number,
  limit: number,
): number[] {
  const { flags } = rows;
  const test = plan.predicate;
  const matches: number[] = [];
  for (let row = plan.lo; row < plan.hi; row++) {
    if ((flags[row]! & BIT_DELETED) === 0 && (test === null || test(row))) matches.push(row);
  }
  const wanted = offset + limit;
  if (wanted * 8 >= matches.length) return matches.sort(compare).slice(offset, wanted);
  return smallest(matches, wanted, compare).slice(offset);
}

/** The `k` smallest items in order, with a bounded max-heap: O(n log k). */
function smallest(items: readonly number[], k: number, compare: RowComparator): number[] {
  const heap: number[] = [];
  const siftUp = (start: number): void => {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compare(heap[i]!, heap[parent]!) <= 0) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  };
  const siftDown = (): void => {
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let largest = i;
      if (left < heap.length && compare(heap[left]!, heap[largest]!) > 0) largest = left;
      if (right < heap.length && compare(heap[right]!, heap[largest]!) > 0) largest = right;
      if (largest === i) return;
      [heap[i], heap[largest]] = [heap[largest]!, heap[i]!];
      i = largest;
    }
  };
  for (const item of items) {
    if (heap.length < k) {
      heap.push(item);
      siftUp(heap.length - 1);
    } else if (compare(item, heap[0]!) < 0) {
      heap[0] = item;
      siftDown();
    }
  }
  return heap.sort(compare);
}
