/**
 * Turning one source of settings — a section of the config file, or the environment — into
 * a layer: setting path → value (or "given but invalid"), each tagged with the name the user
 * knows it by. Layers are then stacked by precedence (load.ts). A value that was given but
 * is wrong stays in its layer as invalid, so that the loader neither reports it a second
 * time as missing nor falls back to a lower layer's value.
 */
import { isAbsolute, resolve } from 'node:path';

import { z } from 'zod';

import { closest } from './checks.js';
import type { FieldSpec } from './fields.js';
import { SECRET_KEYS, URL_KEYS } from './fields.js';
import type { ConfigIo } from './io.js';
import { readText, secretFromText } from './io.js';
import type { ConfigProblem } from './problems.js';
import { REDACTED, showValue } from './problems.js';
import { ClientId, Secret } from './schema.js';

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

export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A copy of file data in which `key: null` (YAML `key:` or `~`) means the key is not set. */
export function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (!isMapping(value)) return value;
  const copy: Mapping = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== null) copy[key] = withoutNulls(item);
  }
  return copy;
}

export function getAt(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (!isMapping(current) || !Object.hasOwn(current, key)) return undefined;
    current = current[key];
  }
  return current;
}

function setAt(target: Mapping, path: string, value: unknown): void {
  const keys = path.split('.');
  const last = keys.pop() ?? path;
  let current = target;
  for (const key of keys) {
    const next = current[key];
    current = isMapping(next) ? next : (current[key] = {});
  }
  current[last] = value;
}

function deleteAt(target: Mapping, keys: readonly string[]): void {
  let current: unknown = target;
  for (const key of keys.slice(0, -1)) {
    current = isMapping(current) ? current[key] : undefined;
  }
  const last = keys.at(-1);
  if (isMapping(current) && last !== undefined) delete current[last];
}

export function resolvePath(ctx: LoadContext, path: string): string {
  return isAbsolute(path) ? path : resolve(ctx.cwd, path);
}

function keysOf(schema: z.ZodType, path: readonly string[]): string[] {
  let current: unknown = schema;
  for (const key of [...path, '']) {
    while (current instanceof z.ZodOptional) current = current.unwrap();
    if (!(current instanceof z.ZodObject)) return [];
    if (key === '') return Object.keys(current.shape as Mapping);
    current = (current.shape as Mapping)[key];
  }
  return [];
}

interface Parsed {
  readonly data: Mapping | undefined;
  /** Dotted paths given but refused (wrong value, unknown key). */
  readonly invalid: readonly string[];
}

interface Naming {
  /** The name of a setting for the user, from its dotted path ('' = the section itself). */
  readonly label: (path: string) => string;
  /** Overrides the "unknown key" text, e.g. for a per-portal key in `defaults`. */
  readonly unknownKey?: ((key: string) => string | undefined) | undefined;
  readonly file?: string | undefined;
}

/**
 * Validates an object with a strict zod schema and keeps what is valid: every issue becomes
 * a problem, the offending keys are dropped and the rest parsed again, so that one wrong
 * value hides nothing else.
 */
function parsePartial(ctx: LoadContext, schema: z.ZodType, given: unknown, naming: Naming): Parsed {
  const raw = withoutNulls(given);
  const first = schema.safeParse(raw);
  if (first.success) return { data: first.data as Mapping, invalid: [] };

  const invalid: string[] = [];
  // A second copy, to drop refused keys from.
  const copy = isMapping(raw) ? (withoutNulls(raw) as Mapping) : undefined;
  let recoverable = copy !== undefined;
  for (const issue of first.error.issues) {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const keyPath = [...path, key].join('.');
        const known = keysOf(schema, path);
        const hint = closest(key, known);
        const expected =
          (path.length === 0 ? naming.unknownKey?.(key) : undefined) ??
          (hint === undefined
            ? `unknown key — expected one of ${known.join(', ')}`
            : `unknown key — did you mean ${hint}?`);
        // No value: an unknown key may be a misspelt secret.
        ctx.problems.push({ field: naming.label(keyPath), expected, file: naming.file });
        invalid.push(keyPath);
        if (copy !== undefined) deleteAt(copy, [...path, key]);
      }
      continue;
    }
    const dotted = path.join('.');
    const key = path.at(-1) ?? '';
    const kind = SECRET_KEYS.has(key) ? 'secret' : URL_KEYS.has(key) ? 'url' : 'plain';
    ctx.problems.push({
      field: naming.label(dotted),
      value: showValue(dotted === '' ? raw : getAt(raw, dotted), kind),
      expected: issue.message,
      file: naming.file,
    });
    invalid.push(dotted);
    if (path.length === 0) recoverable = false;
    else if (copy !== undefined) deleteAt(copy, path);
  }
  if (!recoverable || copy === undefined) return { data: undefined, invalid };
  const second = schema.safeParse(copy);
  return { data: second.success ? (second.data as Mapping) : undefined, invalid };
}

function isInvalid(invalid: readonly string[], path: string): boolean {
  return invalid.some((bad) => bad === path || path.startsWith(`${bad}.`));
}

/** Collects the secret values of an object as given, before any check, for redaction. */
function collectSecrets(ctx: LoadContext, raw: unknown, specs: readonly FieldSpec[]): void {
  for (const spec of specs) {
    const value = spec.secret ? getAt(raw, spec.path) : undefined;
    if (typeof value === 'string' && value !== '') ctx.secrets.add(value);
  }
}

type ValueFile =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly expected: string };

/** The value held by a `xxxFile` / `NAME_FILE` path, checked like the value itself. */
function readValueFile(ctx: LoadContext, spec: FieldSpec, path: string): ValueFile {
  const read = readText(ctx.io, resolvePath(ctx, path));
  if (!read.ok) {
    return {
      ok: false,
      expected: `expected a readable file holding ${spec.what} (${read.reason})`,
    };
  }
  const value = secretFromText(read.text);
  if (spec.secret && value !== '') ctx.secrets.add(value);
  const checked = (spec.secret ? Secret : ClientId).safeParse(value);
  if (!checked.success) {
    const reason = checked.error.issues[0]?.message ?? 'expected a value';
    return { ok: false, expected: `the file's content: ${reason}` };
  }
  return { ok: true, value: checked.data };
}

/** A section of the config file (top level, `defaults`, `portals[i]`) as a layer. */
export function fileLayer(
  ctx: LoadContext,
  schema: z.ZodType,
  raw: unknown,
  specs: readonly FieldSpec[],
  naming: Naming,
): { readonly layer: Layer; readonly usable: boolean } {
  collectSecrets(ctx, raw, specs);
  const parsed = parsePartial(ctx, schema, raw, naming);
  const layer = new Map<string, Entry>();
  // Not even a mapping: nothing of it can be used, and it is already reported.
  if (parsed.data === undefined) return { layer, usable: false };
  const data = parsed.data;

  for (const spec of specs) {
    const filePath = `${spec.path}File`;
    if (
      isInvalid(parsed.invalid, spec.path) ||
      (spec.viaFile && isInvalid(parsed.invalid, filePath))
    ) {
      layer.set(spec.path, { label: naming.label(spec.path), ok: false });
      continue;
    }
    const direct = getAt(data, spec.path);
    const viaFile = spec.viaFile ? getAt(data, filePath) : undefined;
    if (direct !== undefined && viaFile !== undefined) {
      const key = spec.path.split('.').at(-1) ?? spec.path;
      ctx.problems.push({
        field: naming.label(spec.path),
        value: spec.secret ? REDACTED : showValue(direct),
        expected: `set either ${key} or ${key}File, not both`,
        file: naming.file,
      });
      layer.set(spec.path, { label: naming.label(spec.path), ok: false });
    } else if (typeof viaFile === 'string') {
      const read = readValueFile(ctx, spec, viaFile);
      if (!read.ok) {
        ctx.problems.push({
          field: naming.label(filePath),
          value: showValue(viaFile),
          expected: read.expected,
          file: naming.file,
        });
      }
      layer.set(
        spec.path,
        read.ok
          ? { label: naming.label(filePath), ok: true, value: read.value }
          : { label: naming.label(filePath), ok: false },
      );
    } else if (direct !== undefined) {
      layer.set(spec.path, { label: naming.label(spec.path), ok: true, value: direct });
    }
  }
  return { layer, usable: true };
}

/** Environment values: unset when absent or blank (`FOO=` from an unset compose variable). */
export function envValue(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

function fromEnvText(spec: FieldSpec, text: string): unknown {
  if (spec.secret) return text;
  const trimmed = text.trim();
  if (spec.kind === 'int' && /^\d+$/.test(trimmed)) return Number(trimmed);
  if (spec.kind === 'decimal' && /^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  return trimmed;
}

/** The variables of `specs` as a layer, checked with the same schema as the file section. */
export function envLayer(
  ctx: LoadContext,
  env: Readonly<Record<string, string | undefined>>,
  schema: z.ZodType,
  specs: readonly FieldSpec[],
): Layer {
  const raw: Mapping = {};
  const labels = new Map<string, string>();
  const layer = new Map<string, Entry>();

  for (const spec of specs) {
    const direct = envValue(env, spec.env);
    const fileVariable = `${spec.env}_FILE`;
    const viaFile = spec.viaFile ? envValue(env, fileVariable) : undefined;
    if (spec.secret && direct !== undefined) ctx.secrets.add(direct);
    if (direct !== undefined && viaFile !== undefined) {
      ctx.problems.push({
        field: spec.env,
        value: spec.secret ? REDACTED : showValue(direct),
        expected: `set either ${spec.env} or ${fileVariable}, not both`,
      });
      layer.set(spec.path, { label: spec.env, ok: false });
    } else if (viaFile !== undefined) {
      const read = readValueFile(ctx, spec, viaFile.trim());
      if (read.ok) {
        setAt(raw, spec.path, read.value);
        labels.set(spec.path, fileVariable);
      } else {
        ctx.problems.push({
          field: fileVariable,
          value: showValue(viaFile),
          expected: read.expected,
        });
        layer.set(spec.path, { label: fileVariable, ok: false });
      }
    } else if (direct !== undefined) {
      setAt(raw, spec.path, fromEnvText(spec, direct));
      labels.set(spec.path, spec.env);
    }
  }

  const parsed = parsePartial(ctx, schema, raw, { label: (path) => labels.get(path) ?? path });
  for (const [path, label] of labels) {
    const value = isInvalid(parsed.invalid, path) ? undefined : getAt(parsed.data, path);
    layer.set(path, value === undefined ? { label, ok: false } : { label, ok: true, value });
  }
  return layer;
}

/** Layers from lowest to highest precedence, merged setting by setting. */
export function stack(layers: readonly Layer[]): Layer {
  const merged = new Map<string, Entry>();
  for (const layer of layers) {
    for (const [path, entry] of layer) merged.set(path, entry);
  }
  return merged;
}
