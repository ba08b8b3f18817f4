/**
 * Request parameters the way PHP sees them. Form bodies, GET queries and the `"method?query"`
 * strings of a batch all go through PHP's `parse_str`, whose quirks a client can trip over;
 * this module reproduces them rather than using URLSearchParams. Queries are built with the
 * REST client's own encoder (php/buildQuery.ts), so what it sends is what this parses.
 */
import { buildQuery } from '../php/buildQuery.js';

/** A PHP array as decoded from a query: a null-prototype object (no `__proto__` surprises). */
export interface PhpArray {
  [key: string]: PhpValue;
}
type PhpValue = string | PhpArray;

function newPhpArray(): PhpArray {
  return Object.create(null) as PhpArray;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** PHP `urldecode`: `+` is a space, `%XX` a byte, a broken `%` stays as it is; bytes are UTF-8. */
function phpUrlDecode(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text;
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 43) {
      bytes.push(32);
    } else if (code === 37 && i + 2 < text.length) {
      const hi = hexValue(text.charCodeAt(i + 1));
      const lo = hexValue(text.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        bytes.push(hi * 16 + lo);
        i += 2;
      } else {
        bytes.push(37);
      }
    } else if (code < 128) {
      bytes.push(code);
    } else {
      const char = String.fromCodePoint(text.codePointAt(i) ?? code);
      for (const byte of encoder.encode(char)) bytes.push(byte);
      i += char.length - 1;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function nextIntegerKey(target: PhpArray): string {
  let next = 0;
  for (const key of Object.keys(target)) {
    if (/^(0|-?[1-9]\d*)$/.test(key)) next = Math.max(next, Number(key) + 1);
  }
  return String(next);
}

function assign(target: PhpArray, path: readonly (string | null)[], value: string): void {
  let node = target;
  for (let level = 0; level < path.length; level++) {
    const index = path[level];
    const key = index ?? nextIntegerKey(node);
    if (level === path.length - 1) {
      node[key] = value;
      return;
    }
    const existing = node[key];
    if (existing === undefined || typeof existing === 'string') {
      const child = newPhpArray();
      node[key] = child;
      node = child;
    } else {
      node = existing;
    }
  }
}

/**
 * PHP's `php_register_variable_ex` (PHP 8): store `value` under the variable `name`, honouring
 * bracket notation. A `[` with no matching `]` right after the base name is not an index: it
 * becomes `_` and the rest is kept (spaces, dots and brackets turned into `_`).
 */
function registerVariable(target: PhpArray, rawName: string, value: string): void {
  const name = rawName.replace(/^ +/, '');
  const open = name.indexOf('[');
  const baseRaw = open < 0 ? name : name.slice(0, open);
  const base = baseRaw.replace(/[ .]/g, '_');
  if (base === '') return;
  if (open < 0) {
    target[base] = value;
    return;
  }
  const path: (string | null)[] = [base];
  let pos = open;
  while (name[pos] === '[') {
    const close = name.indexOf(']', pos + 1);
    if (close < 0) {
      if (path.length === 1) {
        // Not an index: `filter[` becomes the plain variable `filter_`.
        const rest = name.slice(pos + 1).replace(/[ .[]/g, '_');
        target[`${base}_${rest}`] = value;
        return;
      }
      break; // a broken nested index: PHP keeps the indices read so far
    }
    const index = name.slice(pos + 1, close);
    path.push(close === pos + 1 ? null : index);
    pos = close + 1;
  }
  assign(target, path, value);
}

/**
 * PHP `parse_str`. Each `&`-separated pair is split at its FIRST `=` BEFORE percent-decoding,
 * then name and value are decoded. So an unencoded `filter[=ERROR]=1` has the name `filter[`
 * and the value `ERROR]=1`; `filter[` has no closing bracket, PHP makes it the variable
 * `filter_`, and the filter is silently lost (the command then counts the whole queue).
 * Encoded as `filter%5B%3DERROR%5D=1` it works, which is why `http_build_query` encodes keys.
 */
export function parseStr(query: string): PhpArray {
  const target = newPhpArray();
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    registerVariable(target, phpUrlDecode(rawName), phpUrlDecode(rawValue));
  }
  return target;
}

/** A batch command string `method?query` built the way the official SDKs build it. */
export function batchCommand(
  method: string,
  params: Readonly<Record<string, unknown>> = {},
): string {
  const query = buildQuery(params);
  return query === '' ? method : `${method}?${query}`;
}

/** Splits a batch command at its first `?` and parses the query with {@link parseStr}. */
export function parseBatchCommand(command: string): { method: string; params: PhpArray } {
  const mark = command.indexOf('?');
  const method = (mark < 0 ? command : command.slice(0, mark)).trim();
  return { method, params: parseStr(mark < 0 ? '' : command.slice(mark + 1)) };
}
