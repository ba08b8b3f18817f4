/**
 * Reading files: the config file named by `MONITOR_CONFIG`, and secret files. Parser
 * messages are cut down to their first line and stripped of quoted source text: the YAML and
 * JSON parsers quote the offending line, and in a config file that line may hold a secret.
 */
import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';

import type { ConfigProblem } from './problems.js';
import { showValue } from './problems.js';
import { CONFIG_VARIABLE } from './settings.js';

/** The only I/O the loader does: reading the files it is told to read, and their mode. */
export interface ConfigIo {
  /** Reads a whole file as UTF-8; throws a Node errno error (`ENOENT`, `EACCES`...) otherwise. */
  readonly readFile: (path: string) => string;
  readonly statFile: (path: string) => { readonly mode: number };
}

export const nodeIo: ConfigIo = {
  readFile: (path) => readFileSync(path, 'utf8'),
  statFile: (path) => statSync(path),
};

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'file not found',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

/** Reads a file; on failure, says why in words that never include its content. */
export function readText(
  io: ConfigIo,
  path: string,
): { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string } {
  try {
    return { ok: true, text: io.readFile(path) };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string') return { ok: false, reason: 'cannot read it' };
    return { ok: false, reason: READ_ERRORS[code] ?? `cannot read it (${code})` };
  }
}

/** Parse errors listed at most, from one file: later ones are mostly echoes of the first. */
const MAX_SYNTAX_PROBLEMS = 5;

export type ParsedConfigFile =
  | { readonly ok: true; readonly data: unknown }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

interface SyntaxError {
  readonly message: string;
  readonly line?: number | undefined;
  readonly column?: number | undefined;
}

type SyntaxResult =
  | { readonly ok: true; readonly data: unknown }
  | { readonly ok: false; readonly errors: SyntaxError[] };

/** Reads the file at `path` (absolute) and parses it by extension: `.json`, `.yaml`/`.yml`, else JSON then YAML. */
export function readConfigFile(io: ConfigIo, path: string, given: string): ParsedConfigFile {
  const problem = (expected: string): ConfigProblem => ({
    field: CONFIG_VARIABLE.env,
    value: showValue(given),
    expected,
  });

  const read = readText(io, path);
  if (!read.ok) {
    return {
      ok: false,
      problems: [problem(`expected a readable YAML or JSON file (${read.reason})`)],
    };
  }
  const text = read.text.replace(/^\uFEFF/, '');

  const extension = extname(path).toLowerCase();
  let format: 'JSON' | 'YAML';
  let result: SyntaxResult;
  if (extension === '.json') {
    format = 'JSON';
    result = parseJson(text);
  } else if (extension === '.yaml' || extension === '.yml') {
    format = 'YAML';
    result = parseYaml(text);
  } else {
    const json = parseJson(text);
    format = json.ok ? 'JSON' : 'YAML';
    result = json.ok ? json : parseYaml(text);
  }

  if (!result.ok) {
    return {
      ok: false,
      problems: result.errors
        .slice(0, MAX_SYNTAX_PROBLEMS)
        .map((error) => problem(`expected valid ${format}: ${describeSyntaxError(error)}`)),
    };
  }
  const data = result.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      problems: [
        problem(
          `expected a mapping of settings at the top of the file (listen, portals, ...), got ${showValue(data)}`,
        ),
      ],
    };
  }
  return { ok: true, data };
}

function describeSyntaxError(error: SyntaxError): string {
  return error.line === undefined
    ? error.message
    : `${error.message} at line ${error.line}, column ${error.column ?? 1}`;
}

/** First line, without the position (added back in our words) nor quoted source text. */
function cleanMessage(message: string): string {
  const first = (message.split('\n')[0] ?? '').replace(/:$/, '');
  return first
    .replace(/ at line \d+, column \d+$/, '')
    .replace(/, ".*" is not valid JSON$/, '')
    .replace(/ in JSON at position \d+.*$/, '')
    .replace(/"[^"\n]*"/g, '"…"')
    .trim();
}

function parseYaml(text: string): SyntaxResult {
  // maxAliasCount: a big file that merges one anchor (`<<: *app`) into every portal is fine;
  // the limit is there against alias bombs, which this still stops.
  const document = parseDocument(text, { merge: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    return {
      ok: false,
      errors: document.errors.map((error) => ({
        message: cleanMessage(error.message),
        line: error.linePos?.[0].line,
        column: error.linePos?.[0].col,
      })),
    };
  }
  try {
    return { ok: true, data: document.toJS({ maxAliasCount: 10_000 }) };
  } catch (error) {
    const message = error instanceof Error ? cleanMessage(error.message) : 'cannot be read';
    return { ok: false, errors: [{ message }] };
  }
}

function parseJson(text: string): SyntaxResult {
  try {
    return { ok: true, data: JSON.parse(text) as unknown };
  } catch (error) {
    const raw = error instanceof Error ? error.message : '';
    return { ok: false, errors: [{ message: cleanMessage(raw), ...jsonPosition(raw, text) }] };
  }
}

/** Where V8 says the JSON error is (`at position 42`, or `(line 3 column 5)` in newer versions). */
function jsonPosition(message: string, text: string): { line?: number; column?: number } {
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lineColumn !== null) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /at position (\d+)/.exec(message);
  if (position !== null) return lineAndColumn(text, Number(position[1]));
  // Node 20 gives no position for "Unexpected token"; the YAML parser, reading the same text
  // as JSON-flavoured YAML, usually stops at the same place.
  const hint = parseDocument(text, { schema: 'json' }).errors[0]?.linePos?.[0];
  return hint === undefined ? {} : { line: hint.line, column: hint.col };
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return { line, column };
}
