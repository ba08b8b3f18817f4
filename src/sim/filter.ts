/**
 * `filter` and `order` of the offline-event methods, validated with the API's rules and
 * normalised into conditions the queue can evaluate. Comparisons follow MariaDB with the
 * server's default collation, utf8mb4_general_ci (checked against a real MariaDB by
 * test/sim/sqlDifferential.test.ts): strings compare by their upper-case form and trailing
 * spaces do not count (PAD SPACE), except in `%` (LIKE), which sees them; a number column
 * (ID, ERROR) reads a string's leading number. Non-ASCII letters are beyond this model.
 */
import { parseDate } from './dates.js';
import { argumentError } from './errors.js';
import { entriesOf, phpString, sqlNumber, valuesOf } from './params.js';

const FILTER_FIELDS = [
  'ID',
  'TIMESTAMP_X',
  'EVENT_NAME',
  'MESSAGE_ID',
  'PROCESS_ID',
  'ERROR',
] as const;
type FilterField = (typeof FILTER_FIELDS)[number];

/** `event.offline.get` filters and orders by fewer fields than `event.offline.list`. */
export const GET_FILTER_FIELDS = ['ID', 'TIMESTAMP_X', 'EVENT_NAME', 'MESSAGE_ID'] as const;

/** The allowed key prefixes; `''` (none) means `=`. Anything else, `!` included, is refused. */
const FILTER_OPERATIONS = ['', '=', '>', '<', '>=', '<=', '@', '%'] as const;
export type FilterOperation = Exclude<(typeof FILTER_OPERATIONS)[number], ''>;

/**
 * What a `_general_ci` column compares: the upper-case form without trailing spaces (for
 * ASCII text, whose characters all sort at or above the space that PAD SPACE pads with).
 */
export function collationKey(text: string): string {
  const upper = text.toUpperCase();
  return upper.endsWith(' ') ? upper.replace(/ +$/, '') : upper;
}

/** What LIKE compares: case folded, trailing spaces kept. */
export function likeKey(text: string): string {
  return text.toUpperCase();
}

/**
 * One normalised condition. `values` holds numbers for ID and ERROR (the value) and
 * TIMESTAMP_X (Unix ms), collation keys of strings otherwise, and like keys for any `%` condition. `=` with several values
 * means IN, like `@`. An empty `values` matches nothing (a null value, an empty `@` list).
 */
export interface Condition {
  readonly field: FilterField;
  readonly op: FilterOperation;
  readonly values: readonly (number | string)[];
}

export interface Filter {
  readonly conditions: readonly Condition[];
  /** Canonical form: equal filters have equal keys (the count cache's key). */
  readonly key: string;
}

export interface OrderKey {
  readonly field: FilterField;
  readonly desc: boolean;
}

export interface FilterRules {
  readonly fields?: readonly string[];
  /** The portal's UTC offset, for dates written without one. */
  readonly offsetMinutes: number;
}

const KEY_RE = /^([^A-Za-z]*)(.*)$/s;

function isOperation(op: string): op is FilterOperation | '' {
  return (FILTER_OPERATIONS as readonly string[]).includes(op);
}

function normaliseValue(field: FilterField, op: FilterOperation, raw: unknown, offset: number) {
  if (op === '%') return likeKey(phpString(raw));
  switch (field) {
    case 'ID':
    case 'ERROR':
      return sqlNumber(raw);
    case 'TIMESTAMP_X': {
      const ms = parseDate(phpString(raw), offset);
      if (ms === null) throw argumentError(`Invalid date for TIMESTAMP_X: ${phpString(raw)}`);
      return ms;
    }
    default:
      return collationKey(phpString(raw));
  }
}

function isList(raw: unknown): boolean {
  return raw !== null && typeof raw === 'object';
}

/**
 * The entries of a filter or order with upper-cased keys, as the server's
 * `array_change_key_case(..., CASE_UPPER)` leaves them (inferred from the docs' "keys are
 * upper-cased"): field names are case-insensitive; of two keys differing only in case, the
 * later one's value wins.
 */
function upperEntries(raw: unknown): [string, unknown][] {
  const out = new Map<string, unknown>();
  for (const [key, value] of entriesOf(raw)) {
    const upper = key.toUpperCase();
    out.set(upper, value); // like PHP: the first key's position, the later key's value
  }
  return [...out];
}

/**
 * Validates and normalises a filter. A field outside `rules.fields` answers 400
 * `ERROR_ARGUMENT` "Filter field not allowed: X"; a prefix outside the allowed ones (`!`,
 * `!=`, `><`...) "Filter operation not allowed: OP". Field names are case-insensitive (the
 * server upper-cases the keys). A filter that is not an object (or is empty) selects everything.
 */
export function parseFilter(raw: unknown, rules: FilterRules): Filter {
  const fields = rules.fields ?? FILTER_FIELDS;
  const conditions: Condition[] = [];
  for (const [key, value] of upperEntries(raw)) {
    const match = KEY_RE.exec(key);
    const prefix = match?.[1] ?? '';
    const field = match?.[2] ?? '';
    if (!fields.includes(field)) throw argumentError(`Filter field not allowed: ${field}`);
    if (!isOperation(prefix)) throw argumentError(`Filter operation not allowed: ${prefix}`);
    const op: FilterOperation = prefix === '' ? '=' : prefix;
    const typed = field as FilterField;
    if (op !== '@' && op !== '=' && isList(value)) {
      throw argumentError(`Filter value of ${key} must be a scalar`);
    }
    const rawValues = op === '@' || isList(value) ? valuesOf(value) : [value];
    const values =
      value === null
        ? []
        : rawValues.map((item) => normaliseValue(typed, op, item, rules.offsetMinutes));
    conditions.push({ field: typed, op, values });
  }
  return { conditions, key: canonicalKey(conditions) };
}

function canonicalKey(conditions: readonly Condition[]): string {
  return conditions
    .map((c) => JSON.stringify([c.field, c.op, [...new Set(c.values)].sort()]))
    .sort()
    .join('&');
}

/**
 * Validates an order: `{FIELD: ASC|DESC}` (field and direction case-insensitive). A field outside the
 * allowed ones answers 400 `ERROR_ARGUMENT` "Order field not allowed: X". An empty or missing
 * order gives `fallback`.
 */
export function parseOrder(
  raw: unknown,
  fallback: readonly OrderKey[],
  fields: readonly string[] = FILTER_FIELDS,
): OrderKey[] {
  const keys: OrderKey[] = [];
  for (const [field, direction] of upperEntries(raw)) {
    if (!fields.includes(field)) throw argumentError(`Order field not allowed: ${field}`);
    const dir = phpString(direction).toUpperCase();
    if (dir !== 'ASC' && dir !== 'DESC') {
      throw argumentError(`Order direction not allowed: ${phpString(direction)}`);
    }
    keys.push({ field: field as FilterField, desc: dir === 'DESC' });
  }
  return keys.length > 0 ? keys : [...fallback];
}

export const DEFAULT_LIST_ORDER: readonly OrderKey[] = [{ field: 'ID', desc: false }];
/** `event.offline.get` takes the oldest changes first. */
export const DEFAULT_GET_ORDER: readonly OrderKey[] = [{ field: 'TIMESTAMP_X', desc: false }];
