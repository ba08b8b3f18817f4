/**
 * One source of settings — a section of the config file, or the environment — read into a
 * layer: setting key → value (or "given but invalid"), each tagged with the name the user
 * knows it by. A value that was given but is wrong stays in its layer as invalid, so that
 * the loader neither reports it again as missing nor falls back to a lower layer's value.
 * Every source is read by one path (`layerOf`), which also reads the `<key>File` forms.
 */
import { isAbsolute, resolve } from 'node:path';

import { z } from 'zod';

import { FilePath } from './checks.js';
import type { ConfigProblem } from './problems.js';
import { showValue } from './problems.js';
import type { SettingSpec } from './settings.js';
import { viaFile } from './settings.js';

export type Entry =
  | { readonly label: string; readonly ok: true; readonly value: unknown }
  | { readonly label: string; readonly ok: false };

export type Layer = ReadonlyMap<string, Entry>;
export type Env = Readonly<Record<string, string | undefined>>;

/** What every step of the loader shares: where files are, and what it has found so far. */
export interface LoadContext {
  /** Reads a whole file as UTF-8; throws a Node errno error (`ENOENT`, `EACCES`...) otherwise. */
  readonly readFile: (path: string) => string;
  readonly statFile: (path: string) => { readonly mode: number };
  readonly cwd: string;
  readonly problems: ConfigProblem[];
  /** Every secret value seen — valid or not, used or overridden — for redaction. */
  readonly secrets: Set<string>;
  /** Keys of the file that hold a secret itself (not a path to one), for the file-mode warning. */
  readonly inline: string[];
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function resolvePath(ctx: LoadContext, path: string): string {
  return isAbsolute(path) ? path : resolve(ctx.cwd, path);
}

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'file not found',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

/** A file's text, or why it cannot be read, in words that never include its content. */
export function readText(ctx: LoadContext, path: string): { text: string } | { reason: string } {
  try {
    return { text: ctx.readFile(path) };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code !== 'string') return { reason: 'cannot read it' };
    return { reason: READ_ERRORS[code] ?? `cannot read it (${code})` };
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
export interface Source {
  readonly get: (spec: SettingSpec, asFile: boolean) => unknown;
  /** The name the user knows the value by: `B24_CLIENT_SECRET_FILE`, `portals[0].clientSecret`. */
  readonly label: (spec: SettingSpec, asFile: boolean) => string;
  /** The config file, for a section of it. */
  readonly file?: string | undefined;
}

/** The settings of `specs` that `source` gives, over those `layer` already refused. */
export function layerOf(
  ctx: LoadContext,
  specs: readonly SettingSpec[],
  source: Source,
  layer = new Map<string, Entry>(),
): Layer {
  for (const spec of specs) {
    const entry = layer.has(spec.key) ? undefined : entryOf(ctx, spec, source);
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
  const shown = direct === undefined ? showValue(path) : showValue(direct, kind(spec));
  const refuse = (expected: string): Entry => {
    ctx.problems.push({ field: label, value: shown, expected, file });
    return { label, ok: false };
  };
  const secret = spec.secret === true;
  if (secret && direct !== undefined && file !== undefined) ctx.inline.push(label);
  if (secret && typeof direct === 'string' && direct !== '') ctx.secrets.add(direct);
  if (direct !== undefined && path !== undefined) {
    const [key, keyFile] = [label, source.label(spec, true)].map((name) => name.split('.').at(-1));
    return refuse(`set either ${key} or ${keyFile}, not both`);
  }
  let [value, content] = [direct, ''];
  if (path !== undefined) {
    const where = FilePath.safeParse(path);
    if (!where.success) return refuse(issue(where.error));
    const read = readText(ctx, resolvePath(ctx, where.data));
    if ('reason' in read)
      return refuse(`expected a readable file holding ${what(spec)} (${read.reason})`);
    // Docker secrets and `echo` end the value with a newline that is not part of it.
    const text = read.text.replace(/[\r\n]+$/, '');
    if (secret && text !== '') ctx.secrets.add(text);
    [value, content] = [text, "the file's content: "];
  }
  const result = spec.type.safeParse(value);
  return result.success
    ? { label, ok: true, value: result.data }
    : refuse(`${content}${issue(result.error)}`);
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
  const values = Object.fromEntries(specs.map(({ key }) => [key, defaults[key]]));
  for (const [key, entry] of merged) if (entry.ok) values[key] = entry.value;
  const complete = [...merged.values()].every((entry) => entry.ok);
  return { merged, values: values as T, complete };
}
