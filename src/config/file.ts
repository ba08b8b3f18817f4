/**
 * The config file named by `MONITOR_CONFIG`, read into its sections' layers. Parser messages
 * are cut down to their first line and stripped of quoted source text: the YAML and JSON
 * parsers quote the offending line, and in a config file that line may hold a secret.
 */
import { extname } from 'node:path';
import { parseDocument } from 'yaml';

import { showValue } from './problems.js';
import { CONFIG_VARIABLE } from './settings.js';
import type { Layer, LoadContext } from './sources.js';
import {
  DEFAULTS_SHAPE,
  PORTAL_SHAPE,
  TOP_SHAPE,
  fileLayer,
  isMapping,
  readText,
} from './sources.js';

/** The config file's sections: its top level, `defaults` and each of `portals`. */
export interface FileLayers {
  readonly path: string;
  readonly top: Layer;
  readonly defaults: Layer;
  /** An entry that is not even a mapping is undefined in the list; none: not a list (reported). */
  readonly entries: readonly (Layer | undefined)[] | undefined;
}

export function readConfigFile(ctx: LoadContext, path: string, given: string): FileLayers {
  const data = parseFile(ctx, path, given);
  // A file that cannot be parsed says nothing about the portals: no "not set" guesses.
  if (data === undefined) return { path, top: new Map(), defaults: new Map(), entries: undefined };
  const top = fileLayer(ctx, data, TOP_SHAPE, { name: '', file: path });
  const rawDefaults = data['defaults'];
  const defaults =
    rawDefaults === undefined
      ? undefined
      : fileLayer(ctx, rawDefaults, DEFAULTS_SHAPE, { name: 'defaults', file: path });
  const rawPortals = data['portals'] ?? [];
  if (!Array.isArray(rawPortals)) {
    const expected = 'expected a list of portals (- name: ..., url: ...)';
    ctx.problems.push({ field: 'portals', value: showValue(rawPortals), expected, file: path });
  }
  const entries = Array.isArray(rawPortals)
    ? rawPortals.map((raw: unknown, index) =>
        fileLayer(ctx, raw, PORTAL_SHAPE, { name: `portals[${index}]`, file: path }),
      )
    : undefined;
  return { path, top: top ?? new Map(), defaults: defaults ?? new Map(), entries };
}

/** A copy of file data in which `key: null` (YAML `key:` or `~`) means the key is not set. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isMapping(value)) return value;
  return Object.fromEntries(
    Object.entries(value).flatMap(([key, item]) =>
      item === null ? [] : [[key, withoutNulls(item)]],
    ),
  );
}

/** Parse errors listed at most, from one file: later ones are mostly echoes of the first. */
const MAX_SYNTAX_PROBLEMS = 5;

/** The data, or the syntax errors, each as `message at line L, column C`. */
type Parsed = { readonly data: unknown } | { readonly errors: readonly string[] };

/** The file at `path` (absolute), parsed by extension: `.json`, `.yaml`/`.yml`, else JSON then YAML. */
function parseFile(
  ctx: LoadContext,
  path: string,
  given: string,
): Record<string, unknown> | undefined {
  const fail = (...expected: string[]) => {
    for (const text of expected)
      ctx.problems.push({
        field: CONFIG_VARIABLE.env,
        value: showValue(given),
        expected: text,
        file: path,
      });
    return undefined;
  };
  const read = readText(ctx.readFile, path);
  if (!read.ok) return fail(`expected a readable YAML or JSON file (${read.reason})`);
  const text = read.text.replace(/^\uFEFF/, '');
  const extension = extname(path).toLowerCase();
  const json = extension === '.yaml' || extension === '.yml' ? undefined : parseJson(text);
  const format = extension === '.json' || (json !== undefined && 'data' in json) ? 'JSON' : 'YAML';
  const result = format === 'JSON' && json !== undefined ? json : parseYaml(text);
  if ('errors' in result) {
    const errors = result.errors.slice(0, MAX_SYNTAX_PROBLEMS);
    return fail(...errors.map((error) => `expected valid ${format}: ${error}`));
  }
  const data = withoutNulls(result.data ?? {});
  if (!isMapping(data))
    return fail(
      `expected a mapping of settings at the top of the file (listen, portals, ...), got ${showValue(data)}`,
    );
  // Top-level `x-...` keys are free, as in compose files: a place for YAML anchors.
  return Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('x-')));
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
