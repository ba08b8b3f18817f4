/**
 * One source of settings — a section of the config file, or the environment — read into a
 * layer: setting key → value (or "given but invalid"), each tagged with the name the user
 * knows it by. A value that was given but is wrong stays in its layer as invalid, so that
 * the loader neither reports it again as missing nor falls back to a lower layer's value.
 * Every source is read by one path (`layerOf`), which also reads the `<key>File` forms.
 */
import { isAbsolute, resolve } from 'node:path';

import { z } from 'zod';

import { FilePath, closest } from './checks.js';
import type { ConfigProblem } from './problems.js';
import { showValue } from './problems.js';
import type { SettingSpec } from './settings.js';
import { MAPPINGS, PORTAL_SPECS, TOP_SPECS, viaFile } from './settings.js';

type Entry =
  | { readonly label: string; readonly ok: true; readonly value: unknown }
  | { readonly label: string; readonly ok: false };

export type Layer = ReadonlyMap<string, Entry>;
export type Env = Readonly<Record<string, string | undefined>>;

/** What every step of the loader shares: where files are, and what it has found so far. */
export interface LoadContext {
  readonly readFile: ReadFile;
  readonly statFile: (path: string) => { readonly mode: number };
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

export function resolvePath(ctx: LoadContext, path: string): string {
  return isAbsolute(path) ? path : resolve(ctx.cwd, path);
}

/** Reads a whole file as UTF-8; throws a Node errno error (`ENOENT`, `EACCES`...) otherwise. */
type ReadFile = (path: string) => string;

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

/** The help line in the words of a problem. */
export const what = (spec: { readonly help: string }): string => spec.help.replaceAll('`', '');

/** How a setting's value is shown in a problem. */
export const kind = (spec: SettingSpec) =>
  spec.secret === true ? 'secret' : spec.url === true ? 'url' : 'plain';

/** The first message of a zod error: every message of checks.ts is a whole "expected ..." text. */
const issue = (error: z.ZodError): string => error.issues[0]?.message ?? '';

/** Where a layer's values come from: a setting given directly, or (`asFile`) the path of its file. */
interface Source {
  readonly get: (spec: SettingSpec, asFile: boolean) => unknown;
  /** The name the user knows the value by: `B24_CLIENT_SECRET_FILE`, `portals[0].clientSecret`. */
  readonly label: (spec: SettingSpec, asFile: boolean) => string;
  /** The config file, for a section of it. */
  readonly file?: string | undefined;
}

/** The settings of `specs` that `source` gives, over those `layer` already refused. */
function layerOf(
  ctx: LoadContext,
  specs: readonly SettingSpec[],
  source: Source,
  layer = new Map<string, Entry>(),
): Layer {
  for (const spec of specs) {
    if (layer.has(spec.key)) continue;
    const entry = entryOf(ctx, spec, source);
    if (entry !== undefined) layer.set(spec.key, entry);
  }
  return layer;
}

/** One setting from one source (undefined: not given). */
function entryOf(ctx: LoadContext, spec: SettingSpec, source: Source): Entry | undefined {
  const direct = source.get(spec, false);
  const path = viaFile(spec) ? source.get(spec, true) : undefined;
  if (direct === undefined && path === undefined) return undefined;
  const { file } = source;
  const label = source.label(spec, direct === undefined);
  const refuse = (value: string, expected: string): Entry => {
    ctx.problems.push({ field: label, value, expected, file });
    return { label, ok: false };
  };
  const secret = spec.secret === true;
  if (secret && direct !== undefined && file !== undefined) ctx.inline.push(label);
  if (secret && typeof direct === 'string' && direct !== '') ctx.secrets.add(direct);
  if (direct !== undefined && path !== undefined) {
    const [key, keyFile] = [label, source.label(spec, true)].map((name) => name.split('.').at(-1));
    const expected = `set either ${key} or ${keyFile}, not both`;
    return refuse(showValue(direct, kind(spec)), expected);
  }
  const shown = () => (path === undefined ? showValue(direct, kind(spec)) : showValue(path));
  let [value, content] = [direct, ''];
  if (path !== undefined) {
    const where = FilePath.safeParse(path);
    if (!where.success) return refuse(shown(), issue(where.error));
    const read = readText(ctx.readFile, resolvePath(ctx, where.data));
    if (!read.ok)
      return refuse(shown(), `expected a readable file holding ${what(spec)} (${read.reason})`);
    // Docker secrets and `echo` end the value with a newline that is not part of it.
    const text = read.text.replace(/[\r\n]+$/, '');
    if (secret && text !== '') ctx.secrets.add(text);
    [value, content] = [text, "the file's content: "];
  }
  const result = spec.type.safeParse(value);
  if (result.success) return { label, ok: true, value: result.data };
  return refuse(shown(), `${content}${issue(result.error)}`);
}

/** Environment values: unset when absent or blank (`FOO=` from an unset compose variable). */
export function envValue(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/** The variables of `specs` as a layer, checked by the same types as the file's keys. */
export function envLayer(ctx: LoadContext, env: Env, specs: readonly SettingSpec[]): Layer {
  return layerOf(ctx, specs, {
    label: (spec, asFile) => (asFile ? `${spec.env}_FILE` : spec.env),
    get: (spec, asFile) => {
      const text = envValue(env, asFile ? `${spec.env}_FILE` : spec.env);
      if (asFile || spec.secret === true) return text;
      // A number is converted only when it looks like one: a wrong value is shown as given.
      const trimmed = text?.trim();
      const number = spec.type instanceof z.ZodNumber && /^\d+(\.\d+)?$/.test(trimmed ?? '');
      return number ? Number(trimmed) : trimmed;
    },
  });
}

/** What a section of the file may hold: its settings, and the keys of each of its levels. */
export interface Shape {
  readonly specs: readonly SettingSpec[];
  readonly keys: ReadonlyMap<string, readonly string[]>;
}

function shapeOf(specs: readonly SettingSpec[], more: readonly string[] = []): Shape {
  const keys = new Map<string, readonly string[]>();
  for (const spec of specs) {
    const parts = spec.key.split('.');
    parts.forEach((part, i) => {
      const prefix = parts
        .slice(0, i)
        .map((name) => `${name}.`)
        .join('');
      const names = i === parts.length - 1 && viaFile(spec) ? [part, `${part}File`] : [part];
      keys.set(prefix, [...new Set([...(keys.get(prefix) ?? []), ...names])]);
    });
  }
  keys.set('', [...(keys.get('') ?? []), ...more]);
  return { specs, keys };
}

/** The file's top level, which also holds the portal sections. */
export const TOP_SHAPE = shapeOf(TOP_SPECS, ['defaults', 'portals']);
export const PORTAL_SHAPE = shapeOf(PORTAL_SPECS);
/** `defaults`: the settings not of one portal only. */
export const DEFAULTS_SHAPE = shapeOf(PORTAL_SPECS.filter((spec) => spec.own !== true));

/** Where a section is in the file: '' (the top level), `defaults`, `portals[3]`. */
interface Section {
  readonly name: string;
  readonly file: string;
}

const labelIn = (section: Section, path: string): string =>
  section.name === '' ? path : path === '' ? section.name : `${section.name}.${path}`;

/**
 * A section of the config file (top level, `defaults`, `portals[i]`); undefined when not a
 * mapping. Its keys are walked level by level: unknown keys, and sub-sections that are not
 * mappings (their settings then refused), are problems; the others are its values.
 */
export function fileLayer(
  ctx: LoadContext,
  raw: unknown,
  shape: Shape,
  section: Section,
): Layer | undefined {
  const { file } = section;
  if (!isMapping(raw)) {
    const expected = 'expected a mapping of portal settings (url, clientId, ...)';
    ctx.problems.push({ field: section.name, value: showValue(raw), expected, file });
    return undefined;
  }
  const given = new Map<string, unknown>();
  const layer = new Map<string, Entry>();
  const walk = (data: Mapping, prefix: string): void => {
    const known = shape.keys.get(prefix) ?? [];
    for (const [key, value] of Object.entries(data)) {
      const path = `${prefix}${key}`;
      const mapping = MAPPINGS[path];
      const field = labelIn(section, path);
      if (!known.includes(key)) {
        const hint = closest(key, known);
        const expected =
          shape === DEFAULTS_SHAPE && prefix === '' && PORTAL_SHAPE.keys.get('')?.includes(key)
            ? 'only allowed in a portal entry, not in defaults'
            : hint === undefined
              ? `unknown key — expected one of ${known.join(', ')}`
              : `unknown key — did you mean ${hint}?`;
        ctx.problems.push({ field, expected, file }); // no value: it may be a misspelt secret
      } else if (mapping === undefined) given.set(path, value);
      else if (isMapping(value)) walk(value, `${path}.`);
      else {
        ctx.problems.push({ field, value: showValue(value), expected: mapping, file });
        for (const spec of shape.specs.filter((candidate) => candidate.key.startsWith(`${path}.`)))
          layer.set(spec.key, { label: labelIn(section, spec.key), ok: false });
      }
    }
  };
  walk(raw, '');
  const keyOf = (spec: SettingSpec, asFile: boolean) => (asFile ? `${spec.key}File` : spec.key);
  const source: Source = {
    get: (spec, asFile) => given.get(keyOf(spec, asFile)),
    label: (spec, asFile) => labelIn(section, keyOf(spec, asFile)),
    file,
  };
  return layerOf(ctx, shape.specs, source, layer);
}

/**
 * Layers from lowest to highest precedence, merged setting by setting, and their valid values
 * over the defaults; not complete when one was given but invalid.
 */
export function merge<T>(
  layers: readonly Layer[],
  specs: readonly SettingSpec[],
  defaults: Readonly<Record<string, unknown>>,
): { readonly merged: Layer; readonly values: T; readonly complete: boolean } {
  const merged = new Map<string, Entry>();
  for (const layer of layers) for (const [key, entry] of layer) merged.set(key, entry);
  const values: Record<string, unknown> = {};
  for (const { key } of specs) values[key] = defaults[key];
  let complete = true;
  for (const [key, entry] of merged) {
    if (entry.ok) values[key] = entry.value;
    else complete = false;
  }
  return { merged, values: values as T, complete };
}
