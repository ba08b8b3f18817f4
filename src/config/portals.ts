/**
 * The portals: which layers each one is merged from, and the checks that need the merged
 * settings (required ones, the refresh token in the token file, unique names and token files).
 * Precedence is one order everywhere: environment > portal entry > `defaults` > default.
 * With several portals the variables of one portal (`B24_PORTAL_URL`, tokens, name, token
 * file) are refused: they could not say which portal they are for.
 */
import { resolve } from 'node:path';

import { fileNameOf } from './checks.js';
import type { FileLayers } from './file.js';
import { showValue } from './problems.js';
import type { SettingSpec, Values } from './settings.js';
import { PORTAL, PORTAL_DEFAULTS, PORTAL_SPECS, viaFile } from './settings.js';
import type { Env, Layer, LoadContext } from './sources.js';
import { isMapping, kind, merge, readText, resolvePath, what } from './sources.js';
import type { PortalConfig } from './types.js';

interface Plan {
  /** Lowest precedence first. */
  readonly layers: readonly Layer[];
  /** Its place in the file's `portals` (settings named `portals[i].key`); none: named by variables. */
  readonly index?: number;
  /** How many portals the file lists (0 without a file), and whether there is a file. */
  readonly count: number;
  readonly hasFile: boolean;
}

function planPortals(ctx: LoadContext, env: Env, envPortal: Layer, file?: FileLayers): Plan[] {
  if (file === undefined) return [{ layers: [envPortal], count: 0, hasFile: false }];
  const { entries, defaults } = file;
  if (entries === undefined) return [];
  const count = entries.length;
  if (count === 0) {
    // A file of shared settings only: the environment names the one portal.
    if (envPortal.has('url')) return [{ layers: [defaults, envPortal], count, hasFile: true }];
    const expected = `not set — expected at least one portal in the config file, or B24_PORTAL_URL in the environment`;
    ctx.problems.push({ field: 'portals', expected, file: file.path });
    return [];
  }
  const shared = new Map(envPortal);
  for (const [key, { label }] of count > 1 ? envPortal : []) {
    const spec = specOf(key);
    if (spec.own !== true) continue;
    shared.delete(key);
    const expected = `not allowed with a config file of ${count} portals: set ${key} in each portal entry`;
    ctx.problems.push({ field: label, value: showValue(env[label], kind(spec)), expected });
  }
  return entries.flatMap((entry, index) =>
    entry === undefined ? [] : [{ layers: [defaults, entry, shared], index, count, hasFile: true }],
  );
}

const specOf = (key: string): SettingSpec => ({ ...PORTAL[key as keyof typeof PORTAL], key });

const labelOf = (plan: Plan, key: string): string =>
  plan.index === undefined ? specOf(key).env : `portals[${plan.index}].${key}`;

/** "not set — expected X: set it here, or there" in the words of the plan's sources. */
function notSet(plan: Plan, key: string, because = ''): string {
  const spec = specOf(key);
  const [variable, name] = viaFile(spec)
    ? [`${spec.env} (or ${spec.env}_FILE)`, `${key} (or ${key}File)`]
    : [spec.env, key];
  const own = spec.own === true;
  const ways =
    plan.index === undefined
      ? [variable, ...(plan.hasFile && !own ? [`${name} in defaults of the config file`] : [])]
      : [
          own ? `${name} in this portal entry` : `${name} in this portal entry or in defaults`,
          ...(plan.count === 1 || !own ? [`${variable} in the environment`] : []),
        ];
  return `not set${because} — expected ${what(spec)}: set ${ways.join(', or ')}`;
}

/** A value that must be unique among the portals, with the name of where it came from. */
interface Named {
  readonly value: string;
  readonly label: string;
  readonly defaulted: boolean;
}

interface BuiltPortal {
  readonly config?: PortalConfig;
  readonly name?: Named | undefined;
  readonly tokenFile?: Named | undefined;
}

function buildPortal(ctx: LoadContext, plan: Plan, file?: string, needRefresh = true): BuiltPortal {
  const { merged, values, complete } = merge<Values<typeof PORTAL>>(
    plan.layers,
    PORTAL_SPECS,
    PORTAL_DEFAULTS,
  );
  const missing: [string, string?][] = ['url', 'clientId', 'clientSecret']
    .filter((key) => !merged.has(key))
    .map((key) => [key]);
  const named = (key: string, value: string | undefined, defaulted = false) =>
    value === undefined ? undefined : { value, label: labelOf(plan, key), defaulted };

  // The name defaults to the URL's host, the token file to one named after the portal.
  const host =
    values.url === undefined || merged.has('name') ? undefined : new URL(values.url).host;
  const name = named('name', values.name ?? host, values.name === undefined);
  const tokenFile = named(
    'tokenFile',
    values.tokenFile !== undefined
      ? resolvePath(ctx, values.tokenFile)
      : name === undefined || merged.has('tokenFile')
        ? undefined
        : resolve(ctx.cwd, 'data', `${fileNameOf(name.value)}.tokens.json`),
  );

  if (needRefresh && !merged.has('refreshToken')) {
    // Without a token file (no URL to name it after) there is nothing to fall back on either.
    const why = tokenFile === undefined ? '' : storedRefreshToken(ctx, tokenFile.value);
    const because = `, and the token file ${tokenFile?.value} holds none (${why})`;
    if (why !== undefined) missing.push(['refreshToken', why === '' ? '' : because]);
  }
  for (const [key, because] of missing) {
    ctx.problems.push({ field: labelOf(plan, key), expected: notSet(plan, key, because), file });
  }
  if (!complete || missing.length > 0 || name === undefined || tokenFile === undefined)
    return { name, tokenFile };
  const {
    url,
    'rateLimit.capacity': capacity,
    'rateLimit.drainPerSecond': drain,
    ...rest
  } = values;
  // complete, and nothing missing: url, clientId and clientSecret are set
  const config = {
    ...rest,
    ...{ restUrl: url, rateLimit: { capacity, drainPerSecond: drain } },
    ...{ name: name.value, tokenFile: tokenFile.value },
  } as PortalConfig;
  return { name, tokenFile, config };
}

/** Why the token file holds no refresh token, as the token store reads it; undefined when it does. */
function storedRefreshToken(ctx: LoadContext, path: string): string | undefined {
  const read = readText(ctx, path);
  if ('reason' in read) return read.reason;
  let data: unknown;
  try {
    data = JSON.parse(read.text);
  } catch {
    return 'it is not valid JSON';
  }
  const tokens = isMapping(data) ? [data['accessToken'], data['refreshToken']] : [];
  for (const token of tokens) if (typeof token === 'string' && token !== '') ctx.secrets.add(token);
  return typeof tokens[1] === 'string' && tokens[1] !== ''
    ? undefined
    : 'it has no refreshToken string';
}

const NOT_UNIQUE = {
  name: (first: string, item: Named) =>
    `expected a unique portal name: ${first} is the same${
      item.defaulted
        ? ' (the name defaults to the host of the URL: set name to tell them apart)'
        : ''
    }`,
  tokenFile: (first: string) =>
    `expected a token file of its own: ${first} is the same file, and a refresh token works only once`,
};

/** Every portal, or undefined when one is incomplete; names and token files must be unique. */
export function buildPortals(
  ctx: LoadContext,
  [env, envPortal, file]: [Env, Layer, FileLayers | undefined],
  needRefresh: boolean,
): PortalConfig[] | undefined {
  const plans = planPortals(ctx, env, envPortal, file);
  const built = plans.map((plan) => buildPortal(ctx, plan, file?.path, needRefresh));
  for (const key of ['name', 'tokenFile'] as const) {
    const seen = new Map<string, string>();
    for (const item of built.map((portal) => portal[key])) {
      if (item === undefined) continue;
      const first = seen.get(item.value);
      if (first === undefined) seen.set(item.value, item.label);
      else
        ctx.problems.push({
          field: item.label,
          value: showValue(item.value),
          expected: NOT_UNIQUE[key](first, item),
          file: file?.path,
        });
    }
  }
  const portals = built.flatMap((portal) => (portal.config === undefined ? [] : [portal.config]));
  return portals.length === built.length && portals.length > 0 ? portals : undefined;
}
