/**
 * Turns normalised filter conditions into something cheap to run over the queue's columns:
 * a row range (ID conditions become a binary search, since rows are stored in ID order), and one
 * predicate for the rest, specialised per field (an EVENT_NAME condition becomes a lookup table
 * by name index, ERROR a two-entry table...). Also builds row comparators for `order`.
 */
import { formatSql } from './dates.js';
import type { Condition, Filter, FilterOperation, OrderKey } from './filter.js';

export const FLAG_DELETED = 1;
export const FLAG_ERROR = 2;

/** What a plan reads. Valid until the queue changes (arrays are replaced when they grow). */
export interface ColumnView {
  readonly length: number;
  readonly ids: Float64Array;
  readonly ts: Float64Array;
  readonly names: Uint16Array;
  readonly flags: Uint8Array;
  readonly procs: Int32Array;
  /** Event names by name index, upper case. */
  readonly nameTexts: readonly string[];
  readonly offsetMinutes: number;
  messageIdOf(row: number): string;
  processIdOf(row: number): string;
}

export type RowPredicate = (row: number) => boolean;

export interface Plan {
  /** Nothing can match. */
  readonly empty: boolean;
  /** Row range [lo, hi) the ID conditions leave. */
  readonly lo: number;
  readonly hi: number;
  /** Further test of a live row in range; null when the range says it all. */
  readonly predicate: RowPredicate | null;
  readonly key: string;
}

type Test<T> = (value: T) => boolean;

function compareTest<T extends number | string>(
  op: FilterOperation,
  values: readonly T[],
): Test<T> {
  const first = values[0] as T;
  switch (op) {
    case '>':
      return (v) => v > first;
    case '>=':
      return (v) => v >= first;
    case '<':
      return (v) => v < first;
    case '<=':
      return (v) => v <= first;
    case '%':
      return (v) => String(v).includes(String(first));
    default: {
      if (values.length === 1) return (v) => v === first;
      const set = new Set<T>(values);
      return (v) => set.has(v);
    }
  }
}

/** First row whose ID is >= value (`strict`: > value). */
function bound(ids: Float64Array, length: number, value: number, strict: boolean): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const id = ids[mid]!;
    if (id < value || (strict && id === value)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function conjunction(tests: readonly RowPredicate[]): RowPredicate | null {
  if (tests.length === 0) return null;
  if (tests.length === 1) return tests[0]!;
  if (tests.length === 2) {
    const [a, b] = tests as [RowPredicate, RowPredicate];
    return (row) => a(row) && b(row);
  }
  return (row) => {
    for (const test of tests) if (!test(row)) return false;
    return true;
  };
}

const NOTHING: Plan = { empty: true, lo: 0, hi: 0, predicate: null, key: '' };

/**
 * Compiles a filter. `restrict` adds an internal condition (e.g. "unreserved, ERROR=0" for
 * `event.offline.get`); it makes the plan's key meaningless, so such plans are not cached.
 */
export function compilePlan(filter: Filter, view: ColumnView, restrict?: RowPredicate): Plan {
  let lo = 0;
  let hi = view.length;
  const tests: RowPredicate[] = [];
  for (const condition of filter.conditions) {
    if (condition.values.length === 0) return NOTHING;
    if (condition.field === 'ID' && condition.op !== '%') {
      const narrowed = narrowById(condition, view, lo, hi, tests);
      lo = narrowed[0];
      hi = narrowed[1];
    } else {
      const test = rowTest(condition, view);
      if (test === false) return NOTHING;
      if (test !== true) tests.push(test);
    }
  }
  if (restrict !== undefined) tests.push(restrict);
  if (lo >= hi) return NOTHING;
  return { empty: false, lo, hi, predicate: conjunction(tests), key: filter.key };
}

function narrowById(
  condition: Condition,
  view: ColumnView,
  lo: number,
  hi: number,
  tests: RowPredicate[],
): [number, number] {
  const { ids, length } = view;
  const values = condition.values as readonly number[];
  const value = values[0]!;
  switch (condition.op) {
    case '>':
      return [Math.max(lo, bound(ids, length, value, true)), hi];
    case '>=':
      return [Math.max(lo, bound(ids, length, value, false)), hi];
    case '<':
      return [lo, Math.min(hi, bound(ids, length, value, false))];
    case '<=':
      return [lo, Math.min(hi, bound(ids, length, value, true))];
    default: {
      const min = Math.min(...values);
      const max = Math.max(...values);
      if (values.length > 1) {
        const set = new Set(values);
        tests.push((row) => set.has(ids[row]!));
      }
      return [
        Math.max(lo, bound(ids, length, min, false)),
        Math.min(hi, bound(ids, length, max, true)),
      ];
    }
  }
}

/** A row test, or `true` (always matches) / `false` (never matches). */
function rowTest(condition: Condition, view: ColumnView): RowPredicate | boolean {
  const { op, values } = condition;
  switch (condition.field) {
    case 'ID': {
      const test = compareTest(op, values.map(String));
      const ids = view.ids;
      return (row) => test(String(ids[row]!));
    }
    case 'TIMESTAMP_X': {
      const ts = view.ts;
      if (op === '%') {
        const test = compareTest(op, values as readonly string[]);
        const offset = view.offsetMinutes;
        return (row) => test(formatSql(ts[row]!, offset));
      }
      const test = compareTest(op, values as readonly number[]);
      return (row) => test(ts[row]!);
    }
    case 'EVENT_NAME': {
      const test = compareTest(op, values as readonly string[]);
      const table = Uint8Array.from(view.nameTexts, (name) => (test(name.toLowerCase()) ? 1 : 0));
      if (table.every((hit) => hit === 1)) return true;
      if (table.every((hit) => hit === 0)) return false;
      const names = view.names;
      return (row) => table[names[row]!] === 1;
    }
    case 'ERROR': {
      const test = compareTest(op, values as readonly string[]);
      const whenZero = test('0');
      const whenOne = test('1');
      if (whenZero && whenOne) return true;
      if (!whenZero && !whenOne) return false;
      const flags = view.flags;
      return whenOne
        ? (row) => (flags[row]! & FLAG_ERROR) !== 0
        : (row) => (flags[row]! & FLAG_ERROR) === 0;
    }
    case 'PROCESS_ID': {
      const test = compareTest(op, values as readonly string[]);
      const unreserved = test('');
      const procs = view.procs;
      if (op === '=' && values.length === 1 && values[0] === '') return (row) => procs[row] === 0;
      const bySlot = new Map<number, boolean>();
      return (row) => {
        const slot = procs[row]!;
        if (slot === 0) return unreserved;
        let hit = bySlot.get(slot);
        if (hit === undefined) {
          hit = test(view.processIdOf(row).toLowerCase());
          bySlot.set(slot, hit);
        }
        return hit;
      };
    }
    case 'MESSAGE_ID': {
      const test = compareTest(op, values as readonly string[]);
      return (row) => test(view.messageIdOf(row).toLowerCase());
    }
  }
}

export type RowComparator = (a: number, b: number) => number;

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares rows by `order`, ID ascending breaking ties so that pages are stable. */
export function compileOrder(order: readonly OrderKey[], view: ColumnView): RowComparator {
  const { ids, ts, names, flags } = view;
  const parts: RowComparator[] = [];
  for (const { field, desc } of order) {
    let part: RowComparator;
    switch (field) {
      case 'ID':
        part = (a, b) => ids[a]! - ids[b]!;
        break;
      case 'TIMESTAMP_X':
        part = (a, b) => ts[a]! - ts[b]!;
        break;
      case 'EVENT_NAME': {
        const sorted = view.nameTexts
          .map((name, index) => ({ name: name.toLowerCase(), index }))
          .sort((x, y) => compareText(x.name, y.name));
        const rank = new Int32Array(view.nameTexts.length);
        sorted.forEach((entry, position) => (rank[entry.index] = position));
        part = (a, b) => rank[names[a]!]! - rank[names[b]!]!;
        break;
      }
      case 'ERROR':
        part = (a, b) => (flags[a]! & FLAG_ERROR) - (flags[b]! & FLAG_ERROR);
        break;
      case 'MESSAGE_ID':
        part = (a, b) =>
          compareText(view.messageIdOf(a).toLowerCase(), view.messageIdOf(b).toLowerCase());
        break;
      case 'PROCESS_ID':
        part = (a, b) =>
          compareText(view.processIdOf(a).toLowerCase(), view.processIdOf(b).toLowerCase());
        break;
    }
    parts.push(desc ? (a, b) => part(b, a) : part);
  }
  parts.push((a, b) => ids[a]! - ids[b]!);
  return (a, b) => {
    for (const part of parts) {
      const result = part(a, b);
      if (result !== 0) return result;
    }
    return 0;
  };
}
