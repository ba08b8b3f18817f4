/**
 * One source of settings — a section of the config file, or the environment — read into a
 * layer: setting key → value (or "given but invalid"), each tagged with the name the user
 * knows it by. A value that was given but is wrong stays in its layer as invalid, so that
 * the loader neither reports it again as missing nor falls back to a lower layer's value.
 */
import { isAbsolute, resolve } from 'node:path';

import { z } from 'zod';

import { closest } from './checks.js';
import type { ConfigIo } from './file.js';
import { readText } from './file.js';
import type { ConfigProblem } from './problems.js';
import { REDACTED, showValue } from './problems.js';
import type { SettingSpec } from './settings.js';
import { MAPPINGS, viaFile } from './settings.js';
import { FilePath } from './values.js';

export type Entry =
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

/** The help line as the words of a problem. */
export const what = (spec: SettingSpec): string => spec.help.replaceAll('`', '');

const kindOf = (spec: SettingSpec) => (spec.secret ? 'secret' : spec.url ? 'url' : 'plain');

/** A value checked by the setting's type: the value, or the problem's "expected ..." text. */
function check(spec: SettingSpec, value: unknown, type: z.ZodType = spec.type) {
  const result = type.safeParse(value);
  return result.success
    ? { ok: true as const, value: result.data }
    : { ok: false as const, expected: result.error.issues[0]?.message ?? 'expected a value' };
}

/** The value held by a `<key>File` / `<env>_FILE` path, checked like the value itself. */
function fromFile(
  ctx: LoadContext,
  spec: SettingSpec,
  path: string,
  label: string,
  file?: string,
): Entry {
  const read = readText(ctx.io, resolvePath(ctx, path.trim()));
  let result: ReturnType<typeof check>;
  if (read.ok) {
    // Docker secrets and `echo` end the value with a newline that is not part of it.
    const value = read.text.replace(/[\r\n]+$/, '');
    if (spec.secret === true && value !== '') ctx.secrets.add(value);
    result = check(spec, value);
    if (!result.ok) result = { ok: false, expected: `the file's content: ${result.expected}` };
  } else {
    result = {
      ok: false,
      expected: `expected a readable file holding ${what(spec)} (${read.reason})`,
    };
  }
  if (result.ok) return { label, ok: true, value: result.value };
  ctx.problems.push({ field: label, value: showValue(path), expected: result.expected, file });
  return { label, ok: false };
}

interface Section {
  /** The name of a key for the user, from its dotted path ('' = the section itself). */
  readonly label: (path: string) => string;
  /** What the section must be when it is not a mapping. */
  readonly mapping: string;
  /** Overrides the "unknown key" text of a key of the section itself. */
  readonly unknownKey?: ((key: string) => string | undefined) | undefined;
  /** Keys read elsewhere (`defaults`, `portals`). */
  readonly otherKeys?: readonly string[];
  readonly file: string;
}

/** A section of the config file (top level, `defaults`, `portals[i]`) as a layer; undefined when not a mapping. */
export function fileLayer(
  ctx: LoadContext,
  raw: unknown,
  specs: readonly SettingSpec[],
  section: Section,
): Layer | undefined {
  const { label, file } = section;
  const problem = (path: string, expected: string, value?: string) =>
    ctx.problems.push({ field: label(path), value, expected, file });
  for (const spec of specs) {
    const value = spec.secret === true ? getAt(raw, spec.key) : undefined;
    if (typeof value === 'string' && value !== '') ctx.secrets.add(value);
  }
  if (!isMapping(raw)) {
    problem('', section.mapping, showValue(raw));
    return undefined;
  }
  const layer = new Map<string, Entry>();
  const refuse = (prefix: string) => {
    for (const spec of specs) {
      if (spec.key.startsWith(prefix)) layer.set(spec.key, { label: label(spec.key), ok: false });
    }
  };

  // Unknown keys and sub-sections that are not mappings, level by level.
  const walk = (data: Mapping, prefix: string): void => {
    const known = new Set<string>();
    for (const spec of specs) {
      if (!spec.key.startsWith(prefix)) continue;
      const [head = '', ...rest] = spec.key.slice(prefix.length).split('.');
      known.add(head);
      if (rest.length === 0 && viaFile(spec)) known.add(`${head}File`);
    }
    if (prefix === '') for (const key of section.otherKeys ?? []) known.add(key);
    for (const [key, value] of Object.entries(data)) {
      const path = `${prefix}${key}`;
      const mapping = MAPPINGS[path];
      if (!known.has(key)) {
        const hint = closest(key, [...known]);
        // No value: an unknown key may be a misspelt secret.
        problem(
          path,
          (prefix === '' ? section.unknownKey?.(key) : undefined) ??
            (hint === undefined
              ? `unknown key — expected one of ${[...known].join(', ')}`
              : `unknown key — did you mean ${hint}?`),
        );
      } else if (mapping === undefined) continue;
      else if (isMapping(value)) walk(value, `${path}.`);
      else {
        problem(path, mapping, showValue(value));
        refuse(`${path}.`);
      }
    }
  };
  walk(raw, '');

  for (const spec of specs) {
    if (layer.has(spec.key)) continue;
    const direct = getAt(raw, spec.key);
    const path = viaFile(spec) ? getAt(raw, `${spec.key}File`) : undefined;
    const key = spec.key.split('.').at(-1) ?? spec.key;
    if (direct !== undefined && path !== undefined) {
      problem(
        spec.key,
        `set either ${key} or ${key}File, not both`,
        spec.secret ? REDACTED : showValue(direct),
      );
      layer.set(spec.key, { label: label(spec.key), ok: false });
    } else if (path !== undefined) {
      const given = check(spec, path, FilePath);
      if (given.ok)
        layer.set(
          spec.key,
          fromFile(ctx, spec, given.value as string, label(`${spec.key}File`), file),
        );
      else {
        problem(`${spec.key}File`, given.expected, showValue(path));
        layer.set(spec.key, { label: label(`${spec.key}File`), ok: false });
      }
    } else if (direct !== undefined) {
      const given = check(spec, direct);
      if (!given.ok) problem(spec.key, given.expected, showValue(direct, kindOf(spec)));
      layer.set(
        spec.key,
        given.ok
          ? { label: label(spec.key), ok: true, value: given.value }
          : { label: label(spec.key), ok: false },
      );
    }
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

/** A number is converted only when it looks like one: a wrong value is shown as the text given. */
function fromEnvText(spec: SettingSpec, text: string): unknown {
  if (spec.secret === true) return text;
  const trimmed = text.trim();
  return spec.type instanceof z.ZodNumber && /^\d+(\.\d+)?$/.test(trimmed)
    ? Number(trimmed)
    : trimmed;
}

/** The variables of `specs` as a layer, checked by the same types as the file's keys. */
export function envLayer(
  ctx: LoadContext,
  env: Readonly<Record<string, string | undefined>>,
  specs: readonly SettingSpec[],
): Layer {
  const layer = new Map<string, Entry>();
  for (const spec of specs) {
    const direct = envValue(env, spec.env);
    const fileVariable = `${spec.env}_FILE`;
    const path = viaFile(spec) ? envValue(env, fileVariable) : undefined;
    if (spec.secret === true && direct !== undefined) ctx.secrets.add(direct);
    if (direct !== undefined && path !== undefined) {
      ctx.problems.push({
        field: spec.env,
        value: spec.secret === true ? REDACTED : showValue(direct),
        expected: `set either ${spec.env} or ${fileVariable}, not both`,
      });
      layer.set(spec.key, { label: spec.env, ok: false });
    } else if (path !== undefined) {
      layer.set(spec.key, fromFile(ctx, spec, path, fileVariable));
    } else if (direct !== undefined) {
      const value = fromEnvText(spec, direct);
      const given = check(spec, value);
      if (!given.ok) {
        ctx.problems.push({
          field: spec.env,
          value: showValue(value, kindOf(spec)),
          expected: given.expected,
        });
      }
      layer.set(
        spec.key,
        given.ok
          ? { label: spec.env, ok: true, value: given.value }
          : { label: spec.env, ok: false },
      );
    }
  }
  return layer;
}

/** Layers from lowest to highest precedence, merged setting by setting. */
export function stack(layers: readonly Layer[]): Layer {
  const merged = new Map<string, Entry>();
  for (const layer of layers) for (const [key, entry] of layer) merged.set(key, entry);
  return merged;
}
