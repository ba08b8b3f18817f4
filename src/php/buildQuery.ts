/**
 * PHP `http_build_query` for batch commands (`"method?query"`).
 *
 * The portal splits every pair at its first `=` and only then decodes (PHP `parse_str`), so a
 * raw key such as `filter[=ERROR]=1` becomes a variable `filter_` and the filter silently
 * disappears: the command then counts the whole queue. Keys are therefore percent-encoded
 * exactly like values, brackets included, which is what PHP itself produces.
 */

/** A lone surrogate cannot be UTF-8 encoded; PHP would see U+FFFD in its place. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * PHP `urlencode`: everything but ASCII letters, digits and `-_.` is `%XX` (UTF-8 bytes,
 * upper-case hex); a space is `+`.
 */
export function phpUrlencode(text: string): string {
  return encodeURIComponent(text.replace(LONE_SURROGATE, '\uFFFD'))
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

function scalar(value: string | number | bigint | boolean | Date): string {
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

function append(pairs: string[], key: string, value: unknown): void {
  if (value === null || value === undefined) return;
  if (
    typeof value === 'string' ||
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    typeof value === 'boolean' ||
    value instanceof Date
  ) {
    pairs.push(`${phpUrlencode(key)}=${phpUrlencode(scalar(value))}`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => append(pairs, `${key}[${index}]`, item));
    return;
  }
  if (typeof value === 'object') {
    for (const [name, item] of Object.entries(value)) append(pairs, `${key}[${name}]`, item);
  }
  // Functions and symbols have no query form; PHP has no such values either.
}

/**
 * Encodes `params` like PHP `http_build_query($params)`: nested keys as `a[b][0]`, keys and
 * values percent-encoded, booleans as `1`/`0`, `null`/`undefined` left out, empty arrays and
 * objects left out.
 *
 * @example buildQuery({ filter: { '>ID': 10 }, order: { ID: 'ASC' } })
 *   // 'filter%5B%3EID%5D=10&order%5BID%5D=ASC'
 */
export function buildQuery(params: Readonly<Record<string, unknown>>): string {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(params)) append(pairs, key, value);
  return pairs.join('&');
}
