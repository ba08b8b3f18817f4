/**
 * The configuration loader: environment and/or config file in, a validated MonitorConfig or
 * the full list of problems out. Pure apart from reading the files it is told to read.
 *
 * Precedence, lowest first, setting by setting:
 *   built-in defaults < file `defaults` < file portal entry < environment (one portal)
 *   built-in defaults < file `defaults` < environment < file portal entry (several portals)
 * With several portals the environment stands in for `defaults` (a marketplace app's shared
 * client secret, a schedule...), and the variables of one portal (`B24_PORTAL_URL`, tokens,
 * name, token file) are refused: they could not say which portal they are for.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';

import { closest, fileNameOf } from './checks.js';
import type { ListenAddress } from './checks.js';
import { ENV_VARIABLES, PORTAL_FIELDS, TOP_FIELDS } from './fields.js';
import type { FieldSpec } from './fields.js';
import { CONFIG_VARIABLE, readConfigFile } from './file.js';
import { nodeIo } from './io.js';
import type { ConfigIo } from './io.js';
import {
  envLayer,
  envValue,
  fileLayer,
  getAt,
  isMapping,
  resolvePath,
  stack,
  withoutNulls,
} from './layers.js';
import type { Entry, Layer, LoadContext } from './layers.js';
import type { ConfigProblem } from './problems.js';
import { REDACTED, scrub, scrubProblem, showValue } from './problems.js';
import {
  REDACTED_STORE,
  resolveShard,
  tokenStoreSecrets,
  TOKEN_STORE_EXPECTED,
  TokenStoreSetting,
} from './scale.js';
import { DefaultsFile, MonitorFile, PER_PORTAL_KEYS, PortalFile } from './schema.js';
import type { HttpAuthConfig, MonitorConfig, PollStrategy, PortalConfig } from './types.js';

export { formatProblems } from './problems.js';

export interface LoadConfigInput {
  /** Usually `process.env`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** @default fs.readFileSync(path, 'utf8') */
  readonly readFile?: ((path: string) => string) | undefined;
  /** @default fs.statSync */
  readonly statFile?: ((path: string) => { readonly mode: number }) | undefined;
  /** Relative paths (config file, token files, secret files) are resolved against it. @default process.cwd() */
  readonly cwd?: string | undefined;
  /**
   * Whether a portal needs a refresh token (B24_REFRESH_TOKEN or one in its token file).
   * `auth`, which obtains the first pair, does not. @default true
   */
  readonly requireRefreshToken?: boolean | undefined;
  /** For `MONITOR_SHARD=auto`. @default os.hostname() */
  readonly hostname?: string | undefined;
}

export type LoadConfigResult =
  | { readonly ok: true; readonly config: MonitorConfig; readonly warnings: string[] }
  | { readonly ok: false; readonly problems: ConfigProblem[] };

export const PORTAL_DEFAULTS = {
  oauthUrl: 'https://oauth.bitrix.info/oauth/token/',
  schedule: '*/30 * * * * *',
  strategy: 'auto',
  scanMaxRows: 1000,
  maxEventNames: 500,
  dbTimeShare: 0.05,
  pollTimeoutMs: 25_000,
  staleAfterMs: 300_000,
  requestTimeoutMs: 15_000,
  rateLimit: { capacity: 10, drainPerSecond: 1 },
} as const satisfies Partial<PortalConfig>;

const MONITOR_DEFAULTS = {
  // Loopback by default: the endpoints have no auth unless configured, so exposing them to
  // the network is a choice (MONITOR_LISTEN=0.0.0.0:9464; the Docker image makes it).
  listen: { host: '127.0.0.1', port: 9464 },
  logLevel: 'info',
  maxConcurrentPolls: 8,
} as const satisfies Partial<MonitorConfig>;

/** Where the default token file of a portal lives: `<cwd>/data/<name>.tokens.json`. */
function defaultTokenFile(cwd: string, name: string): string {
  return resolve(cwd, 'data', `${fileNameOf(name)}.tokens.json`);
}

export function loadConfig(input: LoadConfigInput): LoadConfigResult {
  const io: ConfigIo = {
    readFile: input.readFile ?? nodeIo.readFile,
    statFile: input.statFile ?? nodeIo.statFile,
  };
  const ctx: LoadContext = {
    io,
    cwd: input.cwd ?? process.cwd(),
    problems: [],
    secrets: new Set(),
  };
  const warnings: string[] = [];
  const { env } = input;

  const envTop = envLayer(ctx, env, MonitorFile, TOP_FIELDS);
  const envPortal = envLayer(ctx, env, PortalFile, PORTAL_FIELDS);

  const configGiven = envValue(env, CONFIG_VARIABLE)?.trim();
  const configPath = configGiven === undefined ? undefined : resolvePath(ctx, configGiven);
  const file =
    configGiven === undefined || configPath === undefined
      ? undefined
      : readFileLayers(ctx, configPath, configGiven);

  const fileLayers = file === 'broken' ? undefined : file;
  const top = buildTop(
    ctx,
    stack([fileLayers?.top ?? new Map<string, Entry>(), envTop]),
    input.hostname ?? hostname(),
  );
  // A file that cannot be parsed says nothing about the portals: no "not set" guesses.
  const plans = file === 'broken' ? [] : planPortals(ctx, env, envPortal, fileLayers);
  const portals = buildPortals(ctx, plans, fileLayers?.path, input.requireRefreshToken !== false);

  if (fileLayers !== undefined) warnings.push(...fileModeWarnings(ctx, fileLayers));
  warnings.push(...unknownVariableWarnings(env));

  if (portals === undefined && ctx.problems.length === 0) {
    ctx.problems.push({ field: 'portals', expected: 'expected at least one portal' });
  }
  const secrets = [...ctx.secrets].sort((a, b) => b.length - a.length);
  if (ctx.problems.length > 0 || portals === undefined) {
    return { ok: false, problems: ctx.problems.map((problem) => scrubProblem(problem, secrets)) };
  }
  return {
    ok: true,
    config: { ...top, portals, secrets, configFile: configPath },
    warnings: warnings.map((warning) => scrub(warning, secrets)),
  };
}

// ---------------------------------------------------------------------------------------------
// The config file

interface FileLayers {
  readonly path: string;
  readonly top: Layer;
  readonly defaults: Layer;
  /** An entry that is not even a mapping is undefined in the list. */
  readonly portals: readonly (Layer | undefined)[];
  /** `portals:` is there but is not a list (already reported). */
  readonly portalsInvalid: boolean;
  /** Where the file holds a secret itself (not a path to one), for the file-mode warning. */
  readonly inlineSecrets: readonly string[];
}

function readFileLayers(ctx: LoadContext, path: string, given: string): FileLayers | 'broken' {
  const parsed = readConfigFile(ctx.io, path, given);
  if (!parsed.ok) {
    ctx.problems.push(...parsed.problems.map((problem) => ({ ...problem, file: path })));
    return 'broken';
  }
  // Top-level `x-...` keys are free, as in compose files: a place for YAML anchors.
  const data = Object.fromEntries(
    Object.entries(withoutNulls(parsed.data) as Record<string, unknown>).filter(
      ([key]) => !key.startsWith('x-'),
    ),
  );
  const inlineSecrets: string[] = [];
  const noteSecrets = (raw: unknown, specs: readonly FieldSpec[], prefix: string): void => {
    for (const spec of specs) {
      if (spec.secret && getAt(raw, spec.path) !== undefined)
        inlineSecrets.push(`${prefix}${spec.path}`);
    }
  };

  const top = fileLayer(ctx, MonitorFile, data, TOP_FIELDS, { label: (p) => p, file: path });
  noteSecrets(data, TOP_FIELDS, '');

  const sharedFields = PORTAL_FIELDS.filter((spec) => !spec.perPortal);
  const perPortalKeys: readonly string[] = PER_PORTAL_KEYS;
  const defaults =
    data['defaults'] === undefined
      ? new Map<string, Entry>()
      : fileLayer(ctx, DefaultsFile, data['defaults'], sharedFields, {
          label: (p) => (p === '' ? 'defaults' : `defaults.${p}`),
          unknownKey: (key) =>
            perPortalKeys.includes(key)
              ? 'only allowed in a portal entry, not in defaults'
              : undefined,
          file: path,
        }).layer;
  noteSecrets(data['defaults'], sharedFields, 'defaults.');

  const rawPortals = data['portals'];
  let portals: (Layer | undefined)[] = [];
  const portalsInvalid = rawPortals !== undefined && !Array.isArray(rawPortals);
  if (portalsInvalid) {
    ctx.problems.push({
      field: 'portals',
      value: showValue(rawPortals),
      expected: 'expected a list of portals (- name: ..., url: ...)',
      file: path,
    });
  } else if (Array.isArray(rawPortals)) {
    portals = rawPortals.map((raw: unknown, index) => {
      const prefix = `portals[${index}]`;
      noteSecrets(raw, PORTAL_FIELDS, `${prefix}.`);
      const section = fileLayer(ctx, PortalFile, raw, PORTAL_FIELDS, {
        label: (p) => (p === '' ? prefix : `${prefix}.${p}`),
        file: path,
      });
      return section.usable ? section.layer : undefined;
    });
  }
  return { path, top: top.layer, defaults, portals, portalsInvalid, inlineSecrets };
}

// ---------------------------------------------------------------------------------------------
// Top-level settings

function valueOf<T>(layer: Layer, path: string): T | undefined {
  const entry = layer.get(path);
  return entry?.ok === true ? (entry.value as T) : undefined;
}

function buildTop(
  ctx: LoadContext,
  merged: Layer,
  host: string,
): Omit<MonitorConfig, 'portals' | 'secrets'> {
  const bearerToken = valueOf<string>(merged, 'httpAuth.bearerToken');
  const user = merged.get('httpAuth.basic.username');
  const password = merged.get('httpAuth.basic.password');

  let basic: HttpAuthConfig['basic'];
  if (user?.ok === true && password?.ok === true) {
    basic = { username: user.value as string, password: password.value as string };
  } else if ((user === undefined) !== (password === undefined)) {
    const given = user ?? password;
    const fromEnv = given !== undefined && /^[A-Z_]+$/.test(given.label);
    const missingPath = user === undefined ? 'httpAuth.basic.username' : 'httpAuth.basic.password';
    const missing = TOP_FIELDS.find((spec) => spec.path === missingPath);
    if (missing !== undefined) {
      ctx.problems.push({
        field: fromEnv ? missing.env : missing.path,
        expected: `not set — expected ${missing.what}: basic authentication needs both a user name and a password`,
      });
    }
  }

  const listen = valueOf<ListenAddress>(merged, 'listen') ?? MONITOR_DEFAULTS.listen;
  const httpAuth: HttpAuthConfig | undefined =
    bearerToken === undefined && basic === undefined ? undefined : { bearerToken, basic };
  const shardEntry = merged.get('shard');
  const sharding = resolveShard(
    valueOf<number>(merged, 'shards'),
    valueOf<number | 'auto'>(merged, 'shard'),
    host,
    {
      shards: merged.get('shards')?.label ?? 'shards',
      shard: shardEntry?.label ?? 'shard',
    },
  );
  if ('field' in sharding) ctx.problems.push(sharding);
  const tokenStoreEntry = merged.get('tokenStore');
  let tokenStore = valueOf<string>(merged, 'tokenStore')?.trim();
  // a `_FILE` value is checked only as a secret by the layer: check its shape here
  if (tokenStore !== undefined && !TokenStoreSetting.safeParse(tokenStore).success) {
    ctx.problems.push({
      field: tokenStoreEntry?.label ?? 'tokenStore',
      value: REDACTED_STORE,
      expected: TOKEN_STORE_EXPECTED,
    });
  }
  if (tokenStore === 'file') tokenStore = undefined;
  for (const secret of tokenStoreSecrets(tokenStore)) ctx.secrets.add(secret);
  return {
    listen: { host: listen.host, port: listen.port },
    shards: 'field' in sharding ? 1 : sharding.shards,
    shard: 'field' in sharding ? 0 : sharding.shard,
    tokenStore,
    logLevel: valueOf<string>(merged, 'logLevel') ?? MONITOR_DEFAULTS.logLevel,
    maxConcurrentPolls:
      valueOf<number>(merged, 'maxConcurrentPolls') ?? MONITOR_DEFAULTS.maxConcurrentPolls,
    httpAuth,
  };
}

// ---------------------------------------------------------------------------------------------
// Portals

interface PortalPlan {
  /** Lowest precedence first. */
  readonly layers: readonly Layer[];
  /** `env`: settings are named by their variables; `file`: by `portals[i].<key>`. */
  readonly naming: 'env' | 'file';
  readonly index: number;
  /** How many portals the file lists (0 without a file). */
  readonly count: number;
  readonly hasFile: boolean;
}

function planPortals(
  ctx: LoadContext,
  env: LoadConfigInput['env'],
  envPortal: Layer,
  file: FileLayers | undefined,
): PortalPlan[] {
  if (file === undefined)
    return [{ layers: [envPortal], naming: 'env', index: 0, count: 0, hasFile: false }];

  const entries = file.portals;
  if (file.portalsInvalid) return [];
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

  if (entries.length === 1) {
    const only = entries[0];
    return only === undefined
      ? []
      : [
          {
            layers: [file.defaults, only, envPortal],
            naming: 'file',
            index: 0,
            count: 1,
            hasFile: true,
          },
        ];
  }

  const shared = new Map<string, Entry>();
  for (const [path, entry] of envPortal) {
    const spec = PORTAL_FIELDS.find((candidate) => candidate.path === path);
    if (spec?.perPortal !== true) {
      shared.set(path, entry);
      continue;
    }
    ctx.problems.push({
      field: entry.label,
      value: spec.secret
        ? REDACTED
        : showValue(env[entry.label], spec.path === 'url' ? 'url' : 'plain'),
      expected: `not allowed with a config file of ${entries.length} portals: set ${spec.path} in each portal entry`,
    });
  }
  const plans: PortalPlan[] = [];
  entries.forEach((layer, index) => {
    if (layer !== undefined) {
      plans.push({
        layers: [file.defaults, shared, layer],
        naming: 'file',
        index,
        count: entries.length,
        hasFile: true,
      });
    }
  });
  return plans;
}

function fieldSpec(path: string): FieldSpec {
  const spec = PORTAL_FIELDS.find((candidate) => candidate.path === path);
  if (spec === undefined) throw new Error(`no field ${path}`);
  return spec;
}

function labelOf(plan: PortalPlan, spec: FieldSpec): string {
  return plan.naming === 'env' ? spec.env : `portals[${plan.index}].${spec.path}`;
}

/** "not set — expected X: set it here, or there" in the words of the plan's sources. */
function notSet(plan: PortalPlan, spec: FieldSpec, because = ''): string {
  const variable = spec.viaFile ? `${spec.env} (or ${spec.env}_FILE)` : spec.env;
  const key = spec.viaFile ? `${spec.path} (or ${spec.path}File)` : spec.path;
  const ways: string[] = [];
  if (plan.naming === 'env') {
    ways.push(variable);
    if (plan.hasFile && !spec.perPortal) ways.push(`${key} in defaults of the config file`);
  } else {
    ways.push(
      spec.perPortal ? `${key} in this portal entry` : `${key} in this portal entry or in defaults`,
    );
    if (plan.count === 1 || !spec.perPortal) ways.push(`${variable} in the environment`);
  }
  return `not set${because} — expected ${spec.what}: set ${ways.join(', or ')}`;
}

interface BuiltPortal {
  readonly config?: PortalConfig | undefined;
  readonly name?:
    { readonly value: string; readonly label: string; readonly defaulted: boolean } | undefined;
  readonly tokenFile?: { readonly value: string; readonly label: string } | undefined;
}

function buildPortal(
  ctx: LoadContext,
  plan: PortalPlan,
  file: string | undefined,
  requireRefreshToken: boolean,
): BuiltPortal {
  const merged = stack(plan.layers);
  let complete = true;
  const get = <T>(path: string): T | undefined => {
    const entry = merged.get(path);
    if (entry === undefined) return undefined;
    if (!entry.ok) {
      complete = false;
      return undefined;
    }
    return entry.value as T;
  };
  const required = <T>(path: string): T | undefined => {
    const value = get<T>(path);
    if (value === undefined && !merged.has(path)) {
      const spec = fieldSpec(path);
      ctx.problems.push({ field: labelOf(plan, spec), expected: notSet(plan, spec), file });
      complete = false;
    }
    return value;
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
      : {
          value: nameValue,
          label: labelOf(plan, fieldSpec('name')),
          defaulted: givenName === undefined,
        };

  const givenTokenFile = get<string>('tokenFile');
  const tokenFilePath =
    givenTokenFile !== undefined
      ? resolvePath(ctx, givenTokenFile)
      : name === undefined || merged.has('tokenFile')
        ? undefined
        : defaultTokenFile(ctx.cwd, name.value);
  const tokenFile =
    tokenFilePath === undefined
      ? undefined
      : { value: tokenFilePath, label: labelOf(plan, fieldSpec('tokenFile')) };

  const refreshToken = get<string>('refreshToken');
  if (requireRefreshToken && refreshToken === undefined && !merged.has('refreshToken')) {
    // Without a token file (no URL to name it after) there is nothing to fall back on either.
    const stored: ReturnType<typeof storedRefreshToken> =
      tokenFile === undefined
        ? { ok: false, reason: '' }
        : storedRefreshToken(ctx, tokenFile.value);
    if (!stored.ok) {
      const spec = fieldSpec('refreshToken');
      const because =
        tokenFile === undefined
          ? ''
          : `, and the token file ${tokenFile.value} holds none (${stored.reason})`;
      ctx.problems.push({
        field: labelOf(plan, spec),
        expected: notSet(plan, spec, because),
        file,
      });
      complete = false;
    }
  }

  const rest = {
    accessToken: get<string>('accessToken'),
    oauthUrl: get<string>('oauthUrl') ?? PORTAL_DEFAULTS.oauthUrl,
    schedule: get<string>('schedule') ?? PORTAL_DEFAULTS.schedule,
    strategy: get<PollStrategy>('strategy') ?? PORTAL_DEFAULTS.strategy,
    scanMaxRows: get<number>('scanMaxRows') ?? PORTAL_DEFAULTS.scanMaxRows,
    maxEventNames: get<number>('maxEventNames') ?? PORTAL_DEFAULTS.maxEventNames,
    dbTimeShare: get<number>('dbTimeShare') ?? PORTAL_DEFAULTS.dbTimeShare,
    pollTimeoutMs: get<number>('pollTimeoutMs') ?? PORTAL_DEFAULTS.pollTimeoutMs,
    staleAfterMs: get<number>('staleAfterMs') ?? PORTAL_DEFAULTS.staleAfterMs,
    requestTimeoutMs: get<number>('requestTimeoutMs') ?? PORTAL_DEFAULTS.requestTimeoutMs,
    rateLimit: {
      capacity: get<number>('rateLimit.capacity') ?? PORTAL_DEFAULTS.rateLimit.capacity,
      drainPerSecond:
        get<number>('rateLimit.drainPerSecond') ?? PORTAL_DEFAULTS.rateLimit.drainPerSecond,
    },
    authConnector: get<string>('authConnector'),
  };

  if (
    !complete ||
    name === undefined ||
    tokenFile === undefined ||
    restUrl === undefined ||
    clientId === undefined ||
    clientSecret === undefined
  ) {
    return { name, tokenFile };
  }
  return {
    name,
    tokenFile,
    config: {
      name: name.value,
      restUrl,
      clientId,
      clientSecret,
      refreshToken,
      tokenFile: tokenFile.value,
      ...rest,
    },
  };
}

/** Whether the token file already holds a refresh token, as the token store will read it. */
function storedRefreshToken(
  ctx: LoadContext,
  path: string,
): { readonly ok: true } | { readonly ok: false; readonly reason: string } {
  let text: string;
  try {
    text = ctx.io.readFile(path);
  } catch (error) {
    const code = isMapping(error) && typeof error['code'] === 'string' ? error['code'] : '';
    return {
      ok: false,
      reason: code === 'ENOENT' ? 'file not found' : `cannot read it${code ? ` (${code})` : ''}`,
    };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'it is not valid JSON' };
  }
  const refreshToken = getAt(data, 'refreshToken');
  const accessToken = getAt(data, 'accessToken');
  if (typeof accessToken === 'string' && accessToken !== '') ctx.secrets.add(accessToken);
  if (typeof refreshToken !== 'string' || refreshToken === '') {
    return { ok: false, reason: 'it has no refreshToken string' };
  }
  ctx.secrets.add(refreshToken);
  return { ok: true };
}

function buildPortals(
  ctx: LoadContext,
  plans: readonly PortalPlan[],
  file: string | undefined,
  requireRefreshToken: boolean,
): PortalConfig[] | undefined {
  const built = plans.map((plan) => buildPortal(ctx, plan, file, requireRefreshToken));
  const names = new Map<string, string>();
  const tokenFiles = new Map<string, string>();
  for (const portal of built) {
    if (portal.name !== undefined) {
      const { value, label, defaulted } = portal.name;
      const first = names.get(value);
      if (first === undefined) names.set(value, label);
      else {
        ctx.problems.push({
          field: label,
          value: showValue(value),
          expected: `expected a unique portal name: ${first} is the same${
            defaulted
              ? ' (the name defaults to the host of the URL: set name to tell them apart)'
              : ''
          }`,
          file,
        });
      }
    }
    if (portal.tokenFile !== undefined) {
      const { value, label } = portal.tokenFile;
      const first = tokenFiles.get(value);
      if (first === undefined) tokenFiles.set(value, label);
      else {
        ctx.problems.push({
          field: label,
          value: showValue(value),
          expected: `expected a token file of its own: ${first} is the same file, and a refresh token works only once`,
          file,
        });
      }
    }
  }
  const portals = built.flatMap((portal) => (portal.config === undefined ? [] : [portal.config]));
  return portals.length === built.length && portals.length > 0 ? portals : undefined;
}

// ---------------------------------------------------------------------------------------------
// Warnings

function fileModeWarnings(ctx: LoadContext, file: FileLayers): string[] {
  if (file.inlineSecrets.length === 0 || process.platform === 'win32') return [];
  let mode: number;
  try {
    mode = ctx.io.statFile(file.path).mode;
  } catch {
    return [];
  }
  if ((mode & 0o077) === 0) return [];
  const shown = file.inlineSecrets.slice(0, 3).join(', ');
  const more = file.inlineSecrets.length > 3 ? ` and ${file.inlineSecrets.length - 3} more` : '';
  return [
    `Config file ${file.path} holds secrets (${shown}${more}) and is readable by group or others ` +
      `(mode ${(mode & 0o777).toString(8).padStart(4, '0')}): run chmod 600 on it, or give the secrets ` +
      'as files (clientSecretFile, refreshTokenFile, ... or the *_FILE variables)',
  ];
}

const PREFIXES = ['B24_', 'MONITOR_'];

/** A misspelt variable is otherwise silently ignored, and its setting silently defaulted. */
function unknownVariableWarnings(env: LoadConfigInput['env']): string[] {
  const warnings: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || ENV_VARIABLES.includes(name)) continue;
    if (!PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    const hint = closest(name, ENV_VARIABLES);
    warnings.push(
      `Unknown environment variable ${name} is ignored${hint === undefined ? '' : ` (did you mean ${hint}?)`}`,
    );
  }
  return warnings;
}
