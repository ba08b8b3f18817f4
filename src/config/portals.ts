/**
 * The portals: which layers each one is merged from, and the checks that need the merged
 * settings (required ones, the refresh token in the token file, unique names and token files).
 * Precedence is one order everywhere: environment > portal entry > `defaults` > default.
 * With several portals the variables of one portal (`B24_PORTAL_URL`, tokens, name, token
 * file) are refused: they could not say which portal they are for.
 */
import { resolve } from 'node:path';

import { fileNameOf } from './checks.js';
import { REDACTED, showValue } from './problems.js';
import type { SettingSpec } from './settings.js';
import { PORTAL_DEFAULTS, PORTAL_SPECS, viaFile } from './settings.js';
import type { Entry, Layer, LoadContext } from './sources.js';
import { getAt, isMapping, resolvePath, stack, what } from './sources.js';
import type { PortalConfig } from './types.js';

/** The config file's portal sections, as load.ts read them. */
export interface FilePortals {
  readonly path: string;
  readonly defaults: Layer;
  /** An entry that is not even a mapping is undefined in the list. */
  readonly entries: readonly (Layer | undefined)[];
}

interface Plan {
  /** Lowest precedence first. */
  readonly layers: readonly Layer[];
  /** `env`: settings are named by their variables; `file`: by `portals[i].<key>`. */
  readonly naming: 'env' | 'file';
  readonly index: number;
  /** How many portals the file lists (0 without a file). */
  readonly count: number;
  readonly hasFile: boolean;
}

export function planPortals(
  ctx: LoadContext,
  env: Readonly<Record<string, string | undefined>>,
  envPortal: Layer,
  file: FilePortals | undefined,
): Plan[] {
  if (file === undefined)
    return [{ layers: [envPortal], naming: 'env', index: 0, count: 0, hasFile: false }];
  const { entries } = file;
  if (entries.length === 0) {
    // A file of shared settings only; the environment names the one portal.
    if (envPortal.has('url')) {
      return [
        { layers: [file.defaults, envPortal], naming: 'env', index: 0, count: 0, hasFile: true },
      ];
    }
    ctx.problems.push({
      field: 'portals',
      expected:
        'not set — expected at least one portal in the config file, or B24_PORTAL_URL in the environment',
      file: file.path,
    });
    return [];
  }
  const shared = new Map<string, Entry>(envPortal);
  if (entries.length > 1) {
    for (const [key, entry] of envPortal) {
      const spec = specOf(key);
      if (spec.own !== true) continue;
      shared.delete(key);
      ctx.problems.push({
        field: entry.label,
        value:
          spec.secret === true
            ? REDACTED
            : showValue(env[entry.label], spec.url === true ? 'url' : 'plain'),
        expected: `not allowed with a config file of ${entries.length} portals: set ${key} in each portal entry`,
      });
    }
  }
  return entries.flatMap((entry, index) =>
    entry === undefined
      ? []
      : [
          {
            layers: [file.defaults, entry, shared],
            naming: 'file',
            index,
            count: entries.length,
            hasFile: true,
          },
        ],
  );
}

function specOf(key: string): SettingSpec {
  const spec = PORTAL_SPECS.find((candidate) => candidate.key === key);
  if (spec === undefined) throw new Error(`no setting ${key}`);
  return spec;
}

function labelOf(plan: Plan, key: string): string {
  return plan.naming === 'env' ? specOf(key).env : `portals[${plan.index}].${key}`;
}

/** "not set — expected X: set it here, or there" in the words of the plan's sources. */
function notSet(plan: Plan, spec: SettingSpec, because = ''): string {
  const file = viaFile(spec);
  const variable = file ? `${spec.env} (or ${spec.env}_FILE)` : spec.env;
  const key = file ? `${spec.key} (or ${spec.key}File)` : spec.key;
  const own = spec.own === true;
  const ways: string[] = [];
  if (plan.naming === 'env') {
    ways.push(variable);
    if (plan.hasFile && !own) ways.push(`${key} in defaults of the config file`);
  } else {
    ways.push(own ? `${key} in this portal entry` : `${key} in this portal entry or in defaults`);
    if (plan.count === 1 || !own) ways.push(`${variable} in the environment`);
  }
  return `not set${because} — expected ${what(spec)}: set ${ways.join(', or ')}`;
}

interface Named {
  readonly value: string;
  readonly label: string;
  readonly defaulted?: boolean;
}

interface BuiltPortal {
  readonly config?: PortalConfig | undefined;
  readonly name?: Named | undefined;
  readonly tokenFile?: Named | undefined;
}

/** The settings taken as they are (or defaulted), nested as PortalConfig holds them. */
const SPECIAL = ['url', 'name', 'clientId', 'clientSecret', 'refreshToken', 'tokenFile'];
const PLAIN = PORTAL_SPECS.filter((spec) => !SPECIAL.includes(spec.key));

function buildPortal(
  ctx: LoadContext,
  plan: Plan,
  file: string | undefined,
  needRefresh: boolean,
): BuiltPortal {
  const merged = stack(plan.layers);
  let complete = true;
  const get = <T>(key: string): T | undefined => {
    const entry = merged.get(key);
    if (entry?.ok === false) complete = false;
    return entry?.ok === true ? (entry.value as T) : undefined;
  };
  const required = <T>(key: string): T | undefined => {
    if (!merged.has(key)) {
      ctx.problems.push({ field: labelOf(plan, key), expected: notSet(plan, specOf(key)), file });
      complete = false;
    }
    return get<T>(key);
  };

  const restUrl = required<string>('url');
  const clientId = required<string>('clientId');
  const clientSecret = required<string>('clientSecret');

  const givenName = get<string>('name');
  const nameValue =
    givenName ?? (restUrl === undefined || merged.has('name') ? undefined : new URL(restUrl).host);
  const name =
    nameValue === undefined
      ? undefined
      : { value: nameValue, label: labelOf(plan, 'name'), defaulted: givenName === undefined };

  const givenTokenFile = get<string>('tokenFile');
  const tokenFilePath =
    givenTokenFile !== undefined
      ? resolvePath(ctx, givenTokenFile)
      : name === undefined || merged.has('tokenFile')
        ? undefined
        : resolve(ctx.cwd, 'data', `${fileNameOf(name.value)}.tokens.json`);
  const tokenFile =
    tokenFilePath === undefined
      ? undefined
      : { value: tokenFilePath, label: labelOf(plan, 'tokenFile') };

  const refreshToken = get<string>('refreshToken');
  if (needRefresh && !merged.has('refreshToken')) {
    // Without a token file (no URL to name it after) there is nothing to fall back on either.
    const stored = tokenFile === undefined ? '' : storedRefreshToken(ctx, tokenFile.value);
    if (stored !== undefined) {
      const because =
        tokenFile === undefined
          ? ''
          : `, and the token file ${tokenFile.value} holds none (${stored})`;
      ctx.problems.push({
        field: labelOf(plan, 'refreshToken'),
        expected: notSet(plan, specOf('refreshToken'), because),
        file,
      });
      complete = false;
    }
  }

  const settings: Record<string, unknown> = {};
  for (const { key } of PLAIN) {
    const [head = key, leaf] = key.split('.');
    const value = get(key) ?? (PORTAL_DEFAULTS as Record<string, unknown>)[key];
    if (leaf === undefined) settings[head] = value;
    else settings[head] = { ...(settings[head] as object | undefined), [leaf]: value };
  }
  if (!complete || name === undefined || tokenFile === undefined) return { name, tokenFile };
  if (restUrl === undefined || clientId === undefined || clientSecret === undefined)
    return { name, tokenFile };
  const config = {
    ...settings,
    name: name.value,
    restUrl,
    clientId,
    clientSecret,
    refreshToken,
    tokenFile: tokenFile.value,
  };
  return { name, tokenFile, config: config as PortalConfig };
}

/** Why the token file holds no refresh token, as the token store will read it; undefined when it does. */
function storedRefreshToken(ctx: LoadContext, path: string): string | undefined {
  let text: string;
  try {
    text = ctx.io.readFile(path);
  } catch (error) {
    const code = isMapping(error) && typeof error['code'] === 'string' ? error['code'] : '';
    return code === 'ENOENT' ? 'file not found' : `cannot read it${code ? ` (${code})` : ''}`;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return 'it is not valid JSON';
  }
  for (const key of ['accessToken', 'refreshToken']) {
    const value = getAt(data, key);
    if (typeof value === 'string' && value !== '') ctx.secrets.add(value);
  }
  const refreshToken = getAt(data, 'refreshToken');
  return typeof refreshToken === 'string' && refreshToken !== ''
    ? undefined
    : 'it has no refreshToken string';
}

/** Every portal, or undefined when one is incomplete; names and token files must be unique. */
export function buildPortals(
  ctx: LoadContext,
  plans: readonly Plan[],
  file: string | undefined,
  needRefresh: boolean,
): PortalConfig[] | undefined {
  const built = plans.map((plan) => buildPortal(ctx, plan, file, needRefresh));
  const unique = (
    pick: (portal: BuiltPortal) => Named | undefined,
    expected: (first: string, item: Named) => string,
  ) => {
    const seen = new Map<string, string>();
    for (const item of built.map(pick)) {
      if (item === undefined) continue;
      const first = seen.get(item.value);
      if (first === undefined) seen.set(item.value, item.label);
      else
        ctx.problems.push({
          field: item.label,
          value: showValue(item.value),
          expected: expected(first, item),
          file,
        });
    }
  };
  unique(
    (portal) => portal.name,
    (first, item) =>
      `expected a unique portal name: ${first} is the same${
        item.defaulted === true
          ? ' (the name defaults to the host of the URL: set name to tell them apart)'
          : ''
      }`,
  );
  unique(
    (portal) => portal.tokenFile,
    (first) =>
      `expected a token file of its own: ${first} is the same file, and a refresh token works only once`,
  );
  const portals = built.flatMap((portal) => (portal.config === undefined ? [] : [portal.config]));
  return portals.length === built.length && portals.length > 0 ? portals : undefined;
}
