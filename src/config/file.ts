/**
 * The config file named by `MONITOR_CONFIG`, read into its sections' layers. JSON is read by
 * the YAML parser with its JSON schema, so both report errors the same way: the first line of
 * the message, its position, and no quoted source text — in a config file the offending line
 * may hold a secret.
 */
import { extname } from 'node:path';
import { parseDocument } from 'yaml';

import { closest } from './checks.js';
import { showValue } from './problems.js';
import type { SettingSpec } from './settings.js';
import { CONFIG_VARIABLE, PORTAL_SPECS, TOP_SPECS, viaFile } from './settings.js';
import type { Entry, Layer, LoadContext } from './sources.js';
import { isMapping, layerOf, readText } from './sources.js';

/** The config file's sections: its top level, `defaults` and each of `portals`. */
export interface FileLayers {
  readonly path: string;
  readonly top: Layer;
  readonly defaults: Layer;
  /** An entry that is not even a mapping is undefined in the list; none: not a list (reported). */
  readonly entries: readonly (Layer | undefined)[] | undefined;
}

/** What a section may hold: its settings and their names in the file (`rateLimit.capacity`). */
interface Shape {
  readonly specs: readonly SettingSpec[];
  readonly names: readonly string[];
}

function shapeOf(specs: readonly SettingSpec[], ...more: string[]): Shape {
  const names = specs.flatMap((spec) => (viaFile(spec) ? [spec.key, `${spec.key}File`] : spec.key));
  return { specs, names: [...names, ...more] };
}

const TOP_SHAPE = shapeOf(TOP_SPECS, 'defaults', 'portals');
const PORTAL_SHAPE = shapeOf(PORTAL_SPECS);
/** `defaults`: the settings not of one portal only. */
const DEFAULTS_SHAPE = shapeOf(PORTAL_SPECS.filter((spec) => spec.own !== true));

export function readConfigFile(ctx: LoadContext, path: string, given: string): FileLayers {
  const data = parseFile(ctx, path, given);
  // A file that cannot be parsed says nothing about the portals: no "not set" guesses.
  if (data === undefined) return { path, top: new Map(), defaults: new Map(), entries: undefined };
  const section = (raw: unknown, shape: Shape, name: string) =>
    sectionLayer(ctx, raw, shape, { name, file: path });
  const { defaults = {}, portals = [] } = data;
  if (!Array.isArray(portals)) {
    const expected = 'expected a list of portals (- name: ..., url: ...)';
    ctx.problems.push({ field: 'portals', value: showValue(portals), expected, file: path });
  }
  return {
    path,
    top: section(data, TOP_SHAPE, '') ?? new Map(),
    defaults: section(defaults, DEFAULTS_SHAPE, 'defaults') ?? new Map(),
    entries: Array.isArray(portals)
      ? portals.map((raw: unknown, index) => section(raw, PORTAL_SHAPE, `portals[${index}]`))
      : undefined,
  };
}

const labelIn = (section: string, path: string): string =>
  section === '' ? path : path === '' ? section : `${section}.${path}`;

/**
 * A section of the config file (top level, `defaults`, `portals[i]`); undefined when not a
 * mapping. Its keys are walked level by level: unknown keys, and sub-sections that are not
 * mappings (their settings then refused), are problems; the others are its values.
 */
function sectionLayer(
  ctx: LoadContext,
  raw: unknown,
  shape: Shape,
  { name, file }: { readonly name: string; readonly file: string },
): Layer | undefined {
  if (!isMapping(raw)) {
    const expected = 'expected a mapping of portal settings (url, clientId, ...)';
    ctx.problems.push({ field: name, value: showValue(raw), expected, file });
    return undefined;
  }
  const given = new Map<string, unknown>();
  const layer = new Map<string, Entry>();
  const walk = (data: Record<string, unknown>, prefix: string): void => {
    const below = shape.names.filter((known) => known.startsWith(prefix));
    const known = [...new Set(below.map((path) => path.slice(prefix.length).split('.')[0] ?? ''))];
    for (const [key, value] of Object.entries(data)) {
      const [path, field] = [`${prefix}${key}`, labelIn(name, `${prefix}${key}`)];
      const inside = shape.specs.filter((spec) => spec.key.startsWith(`${path}.`));
      if (!known.includes(key)) {
        const hint = closest(key, known);
        const expected =
          shape === DEFAULTS_SHAPE && PORTAL_SHAPE.names.includes(path)
            ? 'only allowed in a portal entry, not in defaults'
            : hint === undefined
              ? `unknown key — expected one of ${known.join(', ')}`
              : `unknown key — did you mean ${hint}?`;
        ctx.problems.push({ field, expected, file }); // no value: it may be a misspelt secret
      } else if (inside.length === 0) given.set(path, value);
      else if (isMapping(value)) walk(value, `${path}.`);
      else {
        const keys = below.filter((known) => known.startsWith(`${path}.`));
        const expected = `expected a mapping of ${keys.map((k) => k.slice(path.length + 1)).join(', ')}`;
        ctx.problems.push({ field, value: showValue(value), expected, file });
        for (const spec of inside)
          layer.set(spec.key, { label: labelIn(name, spec.key), ok: false });
      }
    }
  };
  walk(raw, '');
  const keyOf = (spec: SettingSpec, asFile: boolean) => (asFile ? `${spec.key}File` : spec.key);
  return layerOf(
    ctx,
    shape.specs,
    {
      get: (spec, asFile) => given.get(keyOf(spec, asFile)),
      label: (spec, asFile) => labelIn(name, keyOf(spec, asFile)),
      file,
    },
    layer,
  );
}

/** A copy of file data in which `key: null` (YAML `key:` or `~`) means the key is not set. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isMapping(value)) return value;
  const entries = Object.entries(value).filter(([, item]) => item !== null);
  return Object.fromEntries(entries.map(([key, item]) => [key, withoutNulls(item)]));
}

/** Parse errors listed at most, from one file: later ones are mostly echoes of the first. */
const MAX_SYNTAX_PROBLEMS = 5;

/** The file at `path` (absolute): JSON if it ends with `.json`, else YAML (which JSON is too). */
function parseFile(
  ctx: LoadContext,
  path: string,
  given: string,
): Record<string, unknown> | undefined {
  const fail = (...expected: string[]) => {
    const [field, value, file] = [CONFIG_VARIABLE.env, showValue(given), path];
    for (const text of expected) ctx.problems.push({ field, value, expected: text, file });
    return undefined;
  };
  const read = readText(ctx, path);
  if ('reason' in read) return fail(`expected a readable YAML or JSON file (${read.reason})`);
  const format = extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML';
  const document = parseDocument(read.text.replace(/^\uFEFF/, ''), {
    schema: format === 'JSON' ? 'json' : 'core',
    merge: format === 'YAML',
    uniqueKeys: true,
  });
  const errors = document.errors.map((error) => describe(error.message, error.linePos?.[0]));
  let data: unknown;
  try {
    // A big file that merges one anchor (`<<: *app`) into every portal is fine; the limit
    // is there against alias bombs, which this still stops.
    if (errors.length === 0) data = withoutNulls(document.toJS({ maxAliasCount: 10_000 }) ?? {});
  } catch (error) {
    errors.push(error instanceof Error ? describe(error.message) : 'cannot be read');
  }
  if (errors.length > 0)
    return fail(
      ...errors.slice(0, MAX_SYNTAX_PROBLEMS).map((e) => `expected valid ${format}: ${e}`),
    );
  if (!isMapping(data))
    return fail(
      `expected a mapping of settings at the top of the file (listen, portals, ...), got ${showValue(data)}`,
    );
  // Top-level `x-...` keys are free, as in compose files: a place for YAML anchors.
  return Object.fromEntries(Object.entries(data).filter(([key]) => !key.startsWith('x-')));
}

/** First line, without the position (added back in our words) nor quoted source text. */
function describe(message: string, at?: { readonly line: number; readonly col: number }): string {
  const first = (message.split('\n')[0] ?? '')
    .replace(/:$/, '')
    .replace(/ at line \d+, column \d+$/, '')
    .replace(/"[^"\n]*"/g, '"…"')
    .trim();
  return at === undefined ? first : `${first} at line ${at.line}, column ${at.col}`;
}
