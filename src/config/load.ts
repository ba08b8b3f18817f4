/**
 * The configuration loader: environment and/or config file in, a validated MonitorConfig or
 * the full list of problems out. Pure apart from reading the files it is told to read.
 * Precedence (settings.ts): environment > portal entry > `defaults` (or the file's top level) > default.
 */
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';

import { SecretRegistry } from '../runtime/secrets.js';
import { ordinalOfHost } from '../shard/rendezvous.js';
import { closest } from './checks.js';
import { readConfigFile } from './file.js';
import { buildPortals } from './portals.js';
import type { ConfigProblem } from './problems.js';
import type { Values } from './settings.js';
import { CONFIG_VARIABLE, ENV_VARIABLES, PORTAL_SPECS, TOP, TOP_DEFAULTS } from './settings.js';
import { TOP_SPECS } from './settings.js';
import type { Env, Layer, LoadContext } from './sources.js';
import { envLayer, envValue, merge, resolvePath, what } from './sources.js';
import type { MonitorConfig } from './types.js';

export { formatProblems } from './problems.js';
export { PORTAL_DEFAULTS } from './settings.js';

export interface LoadConfigInput {
  /** Usually `process.env`. */
  readonly env: Env;
  /** @default fs.readFileSync(path, 'utf8') */
  readonly readFile?: ((path: string) => string) | undefined;
  /** @default fs.statSync */
  readonly statFile?: ((path: string) => { readonly mode: number }) | undefined;
  /** Relative paths (config file, token files, secret files) are resolved against it. @default process.cwd() */
  readonly cwd?: string | undefined;
  /** Whether a portal needs a refresh token (given, or in its token file); `auth` does not. @default true */
  readonly requireRefreshToken?: boolean | undefined;
  /** For `MONITOR_SHARD=auto`. @default os.hostname() */
  readonly hostname?: string | undefined;
}

export type LoadConfigResult =
  | { readonly ok: true; readonly config: MonitorConfig; readonly warnings: string[] }
  | { readonly ok: false; readonly problems: ConfigProblem[] };

export function loadConfig(input: LoadConfigInput): LoadConfigResult {
  const { env } = input;
  const ctx: LoadContext = {
    readFile: input.readFile ?? ((file) => readFileSync(file, 'utf8')),
    statFile: input.statFile ?? statSync,
    cwd: input.cwd ?? process.cwd(),
    problems: [],
    secrets: new Set(),
    inline: [],
  };
  const [envTop, envPortal] = [envLayer(ctx, env, TOP_SPECS), envLayer(ctx, env, PORTAL_SPECS)];
  const given = envValue(env, CONFIG_VARIABLE.env)?.trim();
  const path = given === undefined ? undefined : resolvePath(ctx, given);
  const file =
    given === undefined || path === undefined ? undefined : readConfigFile(ctx, path, given);
  const top = buildTop(ctx, [file?.top ?? new Map(), envTop], input.hostname ?? hostname());
  // Token pairs in Redis are checked when the store is opened: its pair needs no seed.
  const needRefresh = input.requireRefreshToken !== false && top.tokenStore === undefined;
  const portals = buildPortals(ctx, [env, envPortal, file], needRefresh);
  if (portals === undefined && ctx.problems.length === 0)
    ctx.problems.push({ field: 'portals', expected: 'expected at least one portal' });
  const warnings = [...fileModeWarning(ctx, file?.path), ...unknownVariables(env)];
  const secrets = [...ctx.secrets].sort((a, b) => b.length - a.length);
  // The process's scrubber, so that a problem is redacted as a log line would be.
  const registry = new SecretRegistry();
  for (const secret of secrets) registry.add(secret);
  const scrub = (text: string) => registry.scrub(text);
  if (ctx.problems.length > 0 || portals === undefined) {
    const problems = ctx.problems.map(({ field, value, expected, file }) => ({
      field: scrub(field),
      value: value && scrub(value),
      expected: scrub(expected),
      file,
    }));
    return { ok: false, problems };
  }
  const config = { ...top, portals, secrets, configFile: path };
  return { ok: true, config, warnings: warnings.map(scrub) };
}

/** The settings of the process: the HTTP server and its protection, the log level, the shards. */
function buildTop(
  ctx: LoadContext,
  layers: readonly Layer[],
  host: string,
): Omit<MonitorConfig, 'portals' | 'secrets'> {
  const { merged, values: top } = merge<Values<typeof TOP>>(layers, TOP_SPECS, TOP_DEFAULTS);
  const { 'httpAuth.basic.username': username, 'httpAuth.basic.password': password } = top;
  const [user, secret] = ['username', 'password'].map((k) => merged.get(`httpAuth.basic.${k}`));
  if ((user === undefined) !== (secret === undefined)) {
    const key = user === undefined ? 'httpAuth.basic.username' : 'httpAuth.basic.password';
    const field = /^[A-Z_]+$/.test((user ?? secret)?.label ?? '') ? TOP[key].env : key;
    const expected = `not set — expected ${what(TOP[key])}: basic authentication needs both a user name and a password`;
    ctx.problems.push({ field, expected });
  }
  const basic =
    username === undefined || password === undefined ? undefined : { username, password };
  const bearerToken = top['httpAuth.bearerToken'];
  const tokenStore = top.tokenStore === 'file' ? undefined : top.tokenStore;
  // for redaction: the URL, and its password as given and decoded
  const storePassword = tokenStore === undefined ? '' : new URL(tokenStore).password;
  if (tokenStore !== undefined && storePassword !== '')
    for (const value of [tokenStore, storePassword, decodeURIComponent(storePassword)])
      ctx.secrets.add(value);
  // with a problem the configuration is refused: any shard stands in
  const shard = shardOf(ctx, top.shards, top.shard, host, merged);
  return {
    listen: top.listen,
    shards: shard === undefined ? 1 : top.shards,
    shard: shard ?? 0,
    tokenStore,
    logLevel: top.logLevel,
    maxConcurrentPolls: top.maxConcurrentPolls,
    httpAuth: bearerToken === undefined && basic === undefined ? undefined : { bearerToken, basic },
  };
}

/**
 * The shard of this process, checked against the count; undefined after a problem. `auto`
 * reads the host name's trailing number (a StatefulSet's pod `monitor-3` is shard 3).
 */
function shardOf(
  ctx: LoadContext,
  count: number,
  shard: number | 'auto',
  hostname: string,
  merged: Layer,
): number | undefined {
  const index = shard === 'auto' ? ordinalOfHost(hostname) : shard;
  if (index !== undefined && index < count) return index;
  const field = merged.get('shard')?.label ?? 'shard';
  const shards = `${merged.get('shards')?.label ?? 'shards'} (${count})`;
  const auto = `auto (host name "${hostname}"`;
  const [value, expected] =
    index === undefined
      ? [
          `${auto})`,
          'expected a host name ending with the shard number, as a StatefulSet names its pods (monitor-0, monitor-1, ...); or give the number',
        ]
      : shard === 'auto'
        ? [
            `${auto} → ${index})`,
            `expected a shard below ${shards}: scale the StatefulSet and the shard count together`,
          ]
        : [String(shard), `expected a 0-based shard below ${shards}`];
  ctx.problems.push({ field, value, expected });
  return undefined;
}

function fileModeWarning(ctx: LoadContext, path: string | undefined): string[] {
  if (path === undefined || ctx.inline.length === 0 || process.platform === 'win32') return [];
  let mode: number;
  try {
    mode = ctx.statFile(path).mode;
  } catch {
    return [];
  }
  if ((mode & 0o077) === 0) return [];
  const shown = ctx.inline.slice(0, 3).join(', ');
  const more = ctx.inline.length > 3 ? ` and ${ctx.inline.length - 3} more` : '';
  return [
    `Config file ${path} holds secrets (${shown}${more}) and is readable by group or others ` +
      `(mode ${(mode & 0o777).toString(8).padStart(4, '0')}): run chmod 600 on it, or give the secrets ` +
      'as files (clientSecretFile, refreshTokenFile, ... or the *_FILE variables)',
  ];
}

/** A misspelt variable is otherwise silently ignored, and its setting silently defaulted. */
function unknownVariables(env: Env): string[] {
  return Object.entries(env).flatMap(([name, value]) => {
    if (value === undefined || ENV_VARIABLES.includes(name)) return [];
    if (!name.startsWith('B24_') && !name.startsWith('MONITOR_')) return [];
    const hint = closest(name, ENV_VARIABLES);
    return [
      `Unknown environment variable ${name} is ignored${hint === undefined ? '' : ` (did you mean ${hint}?)`}`,
    ];
  });
}
