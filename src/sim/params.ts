/**
 * Reading method parameters that may come from JSON (numbers, booleans, arrays) or from
 * `parse_str` (strings and PHP arrays), with PHP's conversions, because the real portal is PHP.
 */

export type Params = Readonly<Record<string, unknown>>;

/** Top-level parameter names are case-insensitive (`FILTER` works like `filter`). */
export function lowerKeys(params: Params): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(params)) out[key.toLowerCase()] = value;
  return out;
}

/** PHP `(string)`: true → "1", false and null → "". Arrays give "Array" like PHP. */
export function phpString(value: unknown): string {
  if (value === true) return '1';
  if (value === false || value === null || value === undefined) return '';
  if (typeof value === 'object') return 'Array';
  return String(value);
}

/** PHP `intval`: the leading integer of a string, 0 when there is none. */
export function phpInt(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const match = /^\s*([+-]?\d+)/.exec(value);
    return match?.[1] === undefined ? 0 : Number.parseInt(match[1], 10);
  }
  if (value !== null && typeof value === 'object') return Object.keys(value).length > 0 ? 1 : 0;
  return 0;
}

/** How MySQL reads a value compared with a number column: the leading number, else 0. */
export function sqlNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  const match = /^\s*([+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)/i.exec(phpString(value));
  return match?.[1] === undefined ? 0 : Number(match[1]);
}

/** A PHP array or JSON array/object as a list of its values; a scalar as a one-element list. */
export function valuesOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === 'object') return Object.values(value);
  if (value === undefined) return [];
  return [value];
}

/** A JSON object or PHP array as ordered entries; anything else as none. */
export function entriesOf(value: unknown): [string, unknown][] {
  if (value !== null && typeof value === 'object') return Object.entries(value);
  return [];
}

/** PHP `empty()` for a parameter: absent, "", "0", 0, false, null or an empty array. */
export function phpEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0) return true;
  if (value === '' || value === '0') return true;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}
