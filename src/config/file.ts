/**
 * Reading files: the config file named by `MONITOR_CONFIG`, and secret files. Parser
 * messages are cut down to their first line and stripped of quoted source text: the YAML and
 * JSON parsers quote the offending line, and in a config file that line may hold a secret.
 */
import { extname } from 'node:path';
import { parseDocument } from 'yaml';

import type { ConfigProblem } from './problems.js';
import { showValue } from './problems.js';
import { CONFIG_VARIABLE } from './settings.js';

/** Reads a whole file as UTF-8; throws a Node errno error (`ENOENT`, `EACCES`...) otherwise. */
export type ReadFile = (path: string) => string;

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'file not found',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

/** Reads a file; on failure, says why in words that never include its content. */
export function readText(
  readFile: ReadFile,
  path: string,
): { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string } {
  try {
    return { ok: true, text: readFile(path) };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string') return { ok: false, reason: 'cannot read it' };
    return { ok: false, reason: READ_ERRORS[code] ?? `cannot read it (${code})` };
  }
}

/** Parse errors listed at most, from one file: later ones are mostly echoes of the first. */
const MAX_SYNTAX_PROBLEMS = 5;

/** The data, or the syntax errors, each as `message at line L, column C`. */
type Parsed = { readonly data: unknown } | { readonly errors: readonly string[] };

/** Reads the file at `path` (absolute) and parses it by extension: `.json`, `.yaml`/`.yml`, else JSON then YAML. */
export function readConfigFile(
  readFile: ReadFile,
  path: string,
  given: string,
): { readonly data: object } | { readonly problems: readonly ConfigProblem[] } {
  const fail = (...expected: string[]) => ({
    problems: expected.map((text) => ({
      field: CONFIG_VARIABLE.env,
      value: showValue(given),
      expected: text,
    })),
  });
  const read = readText(readFile, path);
  if (!read.ok) return fail(`expected a readable YAML or JSON file (${read.reason})`);
  const text = read.text.replace(/^\uFEFF/, '');
  const extension = extname(path).toLowerCase();
  const json = extension === '.yaml' || extension === '.yml' ? undefined : parseJson(text);
  const format = extension === '.json' || (json !== undefined && 'data' in json) ? 'JSON' : 'YAML';
  const result = format === 'JSON' && json !== undefined ? json : parseYaml(text);
  if ('errors' in result) {
    return fail(
      ...result.errors
        .slice(0, MAX_SYNTAX_PROBLEMS)
        .map((error) => `expected valid ${format}: ${error}`),
    );
  }
  const data = result.data ?? {};
  if (typeof data === 'object' && !Array.isArray(data)) return { data };
  return fail(
    `expected a mapping of settings at the top of the file (listen, portals, ...), got ${showValue(data)}`,
  );
}

/** First line, without the position (added back in our words) nor quoted source text. */
function describe(message: string, line?: number, column?: number): string {
  const first = (message.split('\n')[0] ?? '')
    .replace(/:$/, '')
    .replace(/ at line \d+, column \d+$/, '')
    .replace(/, ".*" is not valid JSON$/, '')
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/"[^"\n]*"/g, '"…"')
    .trim();
  return line === undefined ? first : `${first} at line ${line}, column ${column ?? 1}`;
}

function parseYaml(text: string): Parsed {
  const document = parseDocument(text, { merge: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return {
      errors: document.errors.map((error) =>
        describe(error.message, error.linePos?.[0].line, error.linePos?.[0].col),
      ),
    };
  }
  try {
    // A big file that merges one anchor (`<<: *app`) into every portal is fine; the limit
    // is there against alias bombs, which this still stops.
    return { data: document.toJS({ maxAliasCount: 10_000 }) };
  } catch (error) {
    return { errors: [error instanceof Error ? describe(error.message) : 'cannot be read'] };
  }
}

function parseJson(text: string): Parsed {
  try {
    return { data: JSON.parse(text) as unknown };
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    // Where V8 says the error is: `(line 3 column 5)`, `at position 42`, or nowhere (Node 20's
    // "Unexpected token"), where the YAML parser reading the text as JSON usually stops.
    const lineColumn = /\(line (\d+) column (\d+)\)/.exec(message);
    if (lineColumn !== null)
      return { errors: [describe(message, Number(lineColumn[1]), Number(lineColumn[2]))] };
    const position = /at position (\d+)/.exec(message);
    if (position !== null) {
      const before = text.slice(0, Number(position[1]));
      const line = before.split('\n').length;
      return { errors: [describe(message, line, before.length - before.lastIndexOf('\n'))] };
    }
    const hint = parseDocument(text, { schema: 'json' }).errors[0]?.linePos?.[0];
    return { errors: [describe(message, hint?.line, hint?.col)] };
  }
}
