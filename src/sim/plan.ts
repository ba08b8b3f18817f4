/**
 * Turns normalised filter conditions into something cheap to run over the queue's columns:
 * a row range (ID conditions become a binary search, since rows are stored in ID order), and
 * for the rest one generated function (row test + counting loop). Status and event-name
 * conditions fold into a lookup table, so counting "name X, status Y" over a million rows is a
 * branch-free loop of a few milliseconds. Generated sources are memoised by text (the only
 * state here: a pure cache), so a filter shape is compiled and optimised by V8 once.
 * Also builds row comparators for `order`.
 */
import { formatSql } from './dates.js';
import { collationKey, likeKey } from './filter.js';
import type { Condition, Filter, FilterOperation, OrderKey } from './filter.js';

export const FLAG_DELETED = 1;
export const FLAG_ERROR = 2;
/** Mirrors `procs[row] !== 0`, so status tests read one byte per row. */
export const FLAG_RESERVED = 4;

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

type RowPredicate = (row: number) => boolean;

/**
 * One condition as a JavaScript expression over the row `r` and the columns (`ids`, `ts`,
 * `names`, `flags`, `procs`); `$0`, `$1`... name its `bindings` (tables, sets, closures,
 * constants). Clauses are compiled together into one function, so a count over a million rows
 * is a tight loop with no call per condition.
 */
export type Clause =
  | { readonly code: string; readonly bindings: readonly unknown[] }
  /** A test of flag bits: `(flags[r] & mask) === value`. */
  | { readonly mask: number; readonly value: number }
  /** A test of the event name: `table[names[r]] === 1`. */
  | { readonly nameTable: Uint8Array };

/** Rows not reserved (PROCESS_ID empty). */
export const UNRESERVED: Clause = { mask: FLAG_RESERVED, value: 0 };
/** ERROR = 1, or ERROR = 0. */
export function errorClause(error: boolean): Clause {
  return { mask: FLAG_ERROR, value: error ? FLAG_ERROR : 0 };
}

export interface Plan {
  /** Nothing can match. */
  readonly empty: boolean;
  /** Row range [lo, hi) the ID conditions leave. */
  readonly lo: number;
  readonly hi: number;
  /** Further test of a live row in range; null when the range says it all. */
  readonly predicate: RowPredicate | null;
  /** Live rows in [lo, hi) that pass the predicate (a scan; -1 without a predicate). */
  count(): number;
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

/** A clause comparing a numeric column expression with the values, inline. */
function numericClause(column: string, op: FilterOperation, values: readonly number[]): Clause {
  switch (op) {
    case '>':
    case '>=':
    case '<':
    case '<=':
      return { code: `${column} ${op} $0`, bindings: [values[0]] };
    default:
      return values.length === 1
        ? { code: `${column} === $0`, bindings: [values[0]] }
        : { code: `$0.has(${column})`, bindings: [new Set(values)] };
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

type Compiled = (
  view: ColumnView,
  bindings: readonly unknown[],
) => { test: RowPredicate; count: (lo: number, hi: number) => number };

/** Compiled functions by source: the same filter shape reuses one (already optimised) function. */
const compiledBySource = new Map<string, Compiled>();

/**
 * The generated source of a plan's clauses. Flag and event-name clauses fold into one lookup
 * table indexed by `name index × 8 + flag bits`, so the common "name and status" count is a
 * branch-free `n += table[...]` per row; other clauses follow with `&&`.
 */
function source(
  clauses: readonly Clause[],
  byName: boolean,
): { body: string; bindings: unknown[] } {
  const bindings: unknown[] = [];
  const parts: string[] = [];
  for (const clause of clauses) {
    if (!('code' in clause)) continue;
    const offset = bindings.length + 1;
    bindings.push(...clause.bindings);
    parts.push(`(${clause.code.replace(/\$(\d+)/g, (_, n: string) => `b${offset + Number(n)}`)})`);
  }
  const names = bindings.map((_, index) => `b${index + 1}`);
  const rest = parts.join(' && ');
  const slot = byName ? 'b0[(names[r] << 3) | (flags[r] & 7)]' : 'b0[flags[r] & 7]';
  const body = `
    const ids = view.ids, ts = view.ts, names = view.names, flags = view.flags, procs = view.procs;
    const [b0${names.map((name) => `, ${name}`).join('')}] = bindings;
    return {
      test: (r) => ${slot} === 1${rest === '' ? '' : ` && ${rest}`},
      count: (lo, hi) => {
        let n = 0;
        for (let r = lo; r < hi; r++) ${rest === '' ? `n += ${slot};` : `if (${slot} === 1 && ${rest}) n++;`}
        return n;
      },
    };`;
  return { body, bindings };
}

/**
 * The name × flags table of the clauses (live rows only), or a flags-only table when no clause
 * tests the name (`nameCount` 1); null when nothing can match.
 */
function slotTable(clauses: readonly Clause[], nameCount: number): Uint8Array | null {
  let mask = FLAG_DELETED;
  let value = 0;
  const table = new Uint8Array(nameCount * 8);
  const nameOk = new Uint8Array(nameCount).fill(1);
  for (const clause of clauses) {
    if ('mask' in clause) {
      if ((mask & clause.mask & (value ^ clause.value)) !== 0) return null;
      mask |= clause.mask;
      value |= clause.value;
    } else if ('nameTable' in clause) {
      for (let i = 0; i < nameCount; i++) nameOk[i]! &= clause.nameTable[i]!;
    }
  }
  let any = false;
  for (let name = 0; name < nameCount; name++) {
    if (nameOk[name] !== 1) continue;
    for (let bits = 0; bits < 8; bits++) {
      if ((bits & mask) === value) {
        table[name * 8 + bits] = 1;
        any = true;
      }
    }
  }
  return any ? table : null;
}

function compile(body: string): Compiled {
  let compiled = compiledBySource.get(body);
  if (compiled === undefined) {
    compiled = new Function('view', 'bindings', body) as Compiled;
    if (compiledBySource.size > 1000) compiledBySource.clear();
    compiledBySource.set(body, compiled);
  }
  return compiled;
}

const NOTHING: Plan = { empty: true, lo: 0, hi: 0, predicate: null, count: () => 0, key: '' };

/**
 * Compiles a filter. `extra` adds internal conditions (e.g. "unreserved, ERROR=0" for
 * `event.offline.get`); such plans have no cache key.
 */
export function compilePlan(filter: Filter, view: ColumnView, extra: readonly Clause[] = []): Plan {
  let lo = 0;
  let hi = view.length;
  const clauses: Clause[] = [];
  for (const condition of filter.conditions) {
    if (condition.values.length === 0) return NOTHING;
    if (condition.field === 'ID' && condition.op !== '%') {
      const narrowed = narrowById(condition, view, lo, hi, clauses);
      lo = narrowed[0];
      hi = narrowed[1];
    } else {
      const clause = rowClause(condition, view);
      if (clause === false) return NOTHING;
      if (clause !== true) clauses.push(clause);
    }
  }
  clauses.push(...extra);
  if (lo >= hi) return NOTHING;
  const key = extra.length === 0 ? filter.key : '';
  const from = lo;
  const to = hi;
  if (clauses.length === 0) {
    return { empty: false, lo, hi, predicate: null, count: () => -1, key };
  }
  const byName = clauses.some((clause) => 'nameTable' in clause);
  const table = slotTable(clauses, byName ? view.nameTexts.length : 1);
  if (table === null) return NOTHING;
  const { body, bindings } = source(clauses, byName);
  const { test, count } = compile(body)(view, [table, ...bindings]);
  return { empty: false, lo, hi, predicate: test, count: () => count(from, to), key };
}

function narrowById(
  condition: Condition,
  view: ColumnView,
  lo: number,
  hi: number,
  clauses: Clause[],
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
      let min = Infinity;
      let max = -Infinity;
      for (const id of values) {
        min = Math.min(min, id);
        max = Math.max(max, id);
      }
      if (values.length > 1) clauses.push({ code: '$0.has(ids[r])', bindings: [new Set(values)] });
      return [
        Math.max(lo, bound(ids, length, min, false)),
        Math.min(hi, bound(ids, length, max, true)),
      ];
    }
  }
}

/** A clause, or `true` (always matches) / `false` (never matches). */
function rowClause(condition: Condition, view: ColumnView): Clause | boolean {
  const { op, values } = condition;
  switch (condition.field) {
    case 'ID': {
      const test = compareTest(op, values.map(String));
      return { code: '$0(String(ids[r]))', bindings: [test] };
    }
    case 'TIMESTAMP_X': {
      if (op === '%') {
        const test = compareTest(op, values as readonly string[]);
        const offset = view.offsetMinutes;
        const ts = view.ts;
        return { code: '$0(r)', bindings: [(row: number) => test(formatSql(ts[row]!, offset))] };
      }
      return numericClause('ts[r]', op, values as readonly number[]);
    }
    case 'EVENT_NAME': {
      const test = compareTest(op, values as readonly string[]);
      const key = op === '%' ? likeKey : collationKey;
      const table = Uint8Array.from(view.nameTexts, (name) => (test(key(name)) ? 1 : 0));
      if (table.every((hit) => hit === 1)) return true;
      if (table.every((hit) => hit === 0)) return false;
      return { nameTable: table };
    }
    case 'ERROR': {
      const like = op === '%';
      const test = compareTest<number | string>(op, values);
      const whenZero = test(like ? '0' : 0);
      const whenOne = test(like ? '1' : 1);
      if (whenZero === whenOne) return whenZero;
      return errorClause(whenOne);
    }
    case 'PROCESS_ID': {
      if (op === '=' && values.length === 1 && values[0] === '') return UNRESERVED;
      const test = compareTest(op, values as readonly string[]);
      const key = op === '%' ? likeKey : collationKey;
      const unreserved = test('');
      const procs = view.procs;
      const bySlot = new Map<number, boolean>();
      const rowTest = (row: number): boolean => {
        const slot = procs[row]!;
        if (slot === 0) return unreserved;
        let hit = bySlot.get(slot);
        if (hit === undefined) {
          hit = test(key(view.processIdOf(row)));
          bySlot.set(slot, hit);
        }
        return hit;
      };
      return { code: '$0(r)', bindings: [rowTest] };
    }
    case 'MESSAGE_ID': {
      const test = compareTest(op, values as readonly string[]);
      const key = op === '%' ? likeKey : collationKey;
      return {
        code: '$0(r)',
        bindings: [(row: number) => test(key(view.messageIdOf(row)))],
      };
    }
  }
}

export type RowComparator = (a: number, b: number) => number;

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Compares rows by `order` (strings by their collation keys); ties go by ID in the direction
 * of the last key, as reading the key's index (which ends with the primary key) gives them.
 */
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
          .map((name, index) => ({ name: collationKey(name), index }))
          .sort((x, y) => compareText(x.name, y.name));
        // names equal under the collation ('ONX', 'ONX  ') share a rank
        const rank = new Int32Array(view.nameTexts.length);
        sorted.forEach((entry, position) => {
          const previous = sorted[position - 1];
          const same = previous !== undefined && previous.name === entry.name;
          rank[entry.index] = same ? rank[previous.index]! : position;
        });
        part = (a, b) => rank[names[a]!]! - rank[names[b]!]!;
        break;
      }
      case 'ERROR':
        part = (a, b) => (flags[a]! & FLAG_ERROR) - (flags[b]! & FLAG_ERROR);
        break;
      case 'MESSAGE_ID':
        part = (a, b) =>
          compareText(collationKey(view.messageIdOf(a)), collationKey(view.messageIdOf(b)));
        break;
      case 'PROCESS_ID':
        part = (a, b) =>
          compareText(collationKey(view.processIdOf(a)), collationKey(view.processIdOf(b)));
        break;
    }
    parts.push(desc ? (a, b) => part(b, a) : part);
  }
  const lastDesc = order.at(-1)?.desc === true;
  parts.push(lastDesc ? (a, b) => ids[b]! - ids[a]! : (a, b) => ids[a]! - ids[b]!);
  return (a, b) => {
    for (const part of parts) {
      const result = part(a, b);
      if (result !== 0) return result;
    }
    return 0;
  };
}
