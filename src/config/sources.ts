/**
 * One source of settings — a section of the config file, or the environment — read into a
 * layer: setting key → value (or "given but invalid"), each tagged with the name the user
 * knows it by. A value that was given but is wrong stays in its layer as invalid, so that
 * the loader neither reports it again as missing nor falls back to a lower layer's value.
 */
import { isAbsolute, resolve } from 'node:path';

import { z } from 'zod';

import { FilePath, closest } from './checks.js';
import type { ConfigIo } from './file.js';
import { readText } from './file.js';
import type { ConfigProblem } from './problems.js';
import { REDACTED, showValue } from './problems.js';
import type { SettingSpec } from './settings.js';
import { MAPPINGS, PORTAL_SPECS, TOP_SPECS, viaFile } from './settings.js';

type Entry =
  | { readonly label: string; readonly ok: true; readonly value: unknown }
  | { readonly label: string; readonly ok: false };

export type Layer = ReadonlyMap<string, Entry>;

/** What every step of the loader shares: where files are, and what it has found so far. */
export interface LoadContext {
  readonly io: ConfigIo;
  readonly cwd: string;
  readonly problems: ConfigProblem[];
  /** Every secret value seen — valid or not, used or overridden — for redaction. */
  readonly secrets: Set<string>;
  /** Keys of the file that hold a secret itself (not a path to one), for the file-mode warning. */
  readonly inline: string[];
}

type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function getAt(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (!isMapping(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

export function resolvePath(ctx: LoadContext, path: string): string {
  return isAbsolute(path) ? path : resolve(ctx.cwd, path);
}

/** The help line in the words of a problem. */
export const what = (spec: { readonly help: string }): string => spec.help.replaceAll('`', '');

/** A problem with a value given: the setting is then neither missing nor taken from below. */
function refuse(ctx: LoadContext, problem: ConfigProblem): Entry {
  ctx.problems.push(problem);
  return { label: problem.field, ok: false };
}

/**
 * One setting from one source, given directly or as the path of its file form (undefined: not
 * given), each form with its name for the user: `clientSecret`, `portals[0].clientSecretFile`.
 */
function entryOf(
  ctx: LoadContext,
  spec: SettingSpec,
  [direct, path]: [unknown, unknown],
  [label, pathLabel]: [string, string],
  file?: string,
): Entry | undefined {
  if (direct === undefined && path === undefined) return undefined;
  if (direct !== undefined && path !== undefined) {
    const [key, keyFile] = [label, pathLabel].map((name) => name.split('.').at(-1));
    const shown = spec.secret === true ? REDACTED : showValue(direct);
    const expected = `set either ${key} or ${keyFile}, not both`;
    return refuse(ctx, { field: label, value: shown, expected, file });
  }
  if (path !== undefined) {
    const where = FilePath.safeParse(path);
    const value = showValue(path);
    if (!where.success)
      return refuse(ctx, { field: pathLabel, value, expected: issue(where.error), file });
    const read = readText(ctx.io, resolvePath(ctx, where.data));
    if (!read.ok) {
      const expected = `expected a readable file holding ${what(spec)} (${read.reason})`;
      return refuse(ctx, { field: pathLabel, value, expected, file });
    }
    // Docker secrets and `echo` end the value with a newline that is not part of it.
    const content = read.text.replace(/[\r\n]+$/, '');
    if (spec.secret === true && content !== '') ctx.secrets.add(content);
    const result = spec.type.safeParse(content);
    if (result.success) return { label: pathLabel, ok: true, value: result.data };
    const expected = `the file's content: ${issue(result.error)}`;
    return refuse(ctx, { field: pathLabel, value, expected, file });
  }
  const result = spec.type.safeParse(direct);
  if (result.success) return { label, ok: true, value: result.data };
  const kind = spec.secret === true ? 'secret' : spec.url === true ? 'url' : 'plain';
  const value = showValue(direct, kind);
  return refuse(ctx, { field: label, value, expected: issue(result.error), file });
}

/** The first message of a zod error: every message of checks.ts is a whole "expected ..." text. */
const issue = (error: z.ZodError): string => error.issues[0]?.message ?? '';

/** The keys a portal entry may hold that `defaults` may not. */
const OWN_KEYS = PORTAL_SPECS.filter((spec) => spec.own === true).flatMap((spec) =>
  viaFile(spec) ? [spec.key, `${spec.key}File`] : [spec.key],
);

/** The keys a level of a section may hold, computed once per table and level. */
const knownKeys = new Map<readonly SettingSpec[], Map<string, readonly string[]>>();
function keysOf(specs: readonly SettingSpec[], prefix: string): readonly string[] {
  const byPrefix = knownKeys.get(specs) ?? new Map<string, readonly string[]>();
  knownKeys.set(specs, byPrefix);
  const keys = byPrefix.get(prefix) ?? [
    ...new Set(
      specs
        .filter((spec) => spec.key.startsWith(prefix))
        .flatMap((spec) => {
          const [head = '', ...rest] = spec.key.slice(prefix.length).split('.');
          return rest.length === 0 && viaFile(spec) ? [head, `${head}File`] : [head];
        }),
    ),
    // the file's top level also holds the portal sections
    ...(specs === TOP_SPECS && prefix === '' ? ['defaults', 'portals'] : []),
  ];
  byPrefix.set(prefix, keys);
  return keys;
}

/** Where a section is in the file: '' (the top level), `defaults`, `portals[3]`. */
interface Section {
  readonly name: string;
  readonly file: string;
}

const labelIn = (section: Section, path: string): string =>
  section.name === '' ? path : path === '' ? section.name : `${section.name}.${path}`;

/** Unknown keys, and sub-sections that are not mappings (their settings then refused), level by level. */
function walk(
  ctx: LoadContext,
  [data, prefix]: [Mapping, string],
  specs: readonly SettingSpec[],
  section: Section,
  layer: Map<string, Entry>,
): void {
  const known = keysOf(specs, prefix);
  for (const [key, value] of Object.entries(data)) {
    const path = `${prefix}${key}`;
    const mapping = MAPPINGS[path];
    const problem = { field: labelIn(section, path), file: section.file };
    if (!known.includes(key)) {
      const hint = closest(key, known);
      const expected =
        section.name === 'defaults' && prefix === '' && OWN_KEYS.includes(key)
          ? 'only allowed in a portal entry, not in defaults'
          : hint === undefined
            ? `unknown key — expected one of ${known.join(', ')}`
            : `unknown key — did you mean ${hint}?`;
      ctx.problems.push({ ...problem, expected }); // no value: it may be a misspelt secret
    } else if (mapping !== undefined && isMapping(value)) {
      walk(ctx, [value, `${path}.`], specs, section, layer);
    } else if (mapping !== undefined) {
      ctx.problems.push({ ...problem, value: showValue(value), expected: mapping });
      for (const spec of specs.filter((candidate) => candidate.key.startsWith(`${path}.`))) {
        layer.set(spec.key, { label: labelIn(section, spec.key), ok: false });
      }
    }
  }
}

/** A section of the config file (top level, `defaults`, `portals[i]`); undefined when not a mapping. */
export function fileLayer(
  ctx: LoadContext,
  raw: unknown,
  specs: readonly SettingSpec[],
  section: Section,
): Layer | undefined {
  for (const spec of specs) {
    const value = spec.secret === true ? getAt(raw, spec.key) : undefined;
    if (value !== undefined) ctx.inline.push(labelIn(section, spec.key));
    if (typeof value === 'string' && value !== '') ctx.secrets.add(value);
  }
  if (!isMapping(raw)) {
    const expected = 'expected a mapping of portal settings (url, clientId, ...)';
    ctx.problems.push({ field: section.name, value: showValue(raw), expected, file: section.file });
    return undefined;
  }
  const layer = new Map<string, Entry>();
  walk(ctx, [raw, ''], specs, section, layer);
  for (const spec of specs) {
    if (layer.has(spec.key)) continue;
    const path = viaFile(spec) ? getAt(raw, `${spec.key}File`) : undefined;
    const names: [string, string] = [
      labelIn(section, spec.key),
      labelIn(section, `${spec.key}File`),
    ];
    const entry = entryOf(ctx, spec, [getAt(raw, spec.key), path], names, section.file);
    if (entry !== undefined) layer.set(spec.key, entry);
  }
  return layer;
}

/** Environment values: unset when absent or blank (`FOO=` from an unset compose variable). */
export function envValue(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The variables of `specs` as a layer, checked by the same types as the file's keys. */
export function envLayer(
  ctx: LoadContext,
  env: Readonly<Record<string, string | undefined>>,
  specs: readonly SettingSpec[],
): Layer {
  const layer = new Map<string, Entry>();
  for (const spec of specs) {
    const text = envValue(env, spec.env);
    if (spec.secret === true && text !== undefined) ctx.secrets.add(text);
    // A number is converted only when it looks like one: a wrong value is shown as given.
    const trimmed = spec.secret === true ? text : text?.trim();
    const number = spec.type instanceof z.ZodNumber && /^\d+(\.\d+)?$/.test(trimmed ?? '');
    const path = viaFile(spec) ? envValue(env, `${spec.env}_FILE`) : undefined;
    const names: [string, string] = [spec.env, `${spec.env}_FILE`];
    const entry = entryOf(ctx, spec, [number ? Number(trimmed) : trimmed, path], names);
    if (entry !== undefined) layer.set(spec.key, entry);
  }
  return layer;
}

/** The valid values of a layer over the defaults (every key there, set or not); not complete when one was given but invalid. */
export function valuesOf<T>(
  layer: Layer,
  specs: readonly SettingSpec[],
  defaults: Readonly<Record<string, unknown>>,
): { readonly values: T; readonly complete: boolean } {
  const values: Record<string, unknown> = {};
  for (const { key } of specs) values[key] = defaults[key];
  let complete = true;
  for (const [key, entry] of layer) {
    if (entry.ok) values[key] = entry.value;
    else complete = false;
  }
  return { values: values as T, complete };
}

/** Layers from lowest to highest precedence, merged setting by setting. */
export function stack(layers: readonly Layer[]): Layer {
  const merged = new Map<string, Entry>();
  for (const layer of layers) for (const [key, entry] of layer) merged.set(key, entry);
  return merged;
}
