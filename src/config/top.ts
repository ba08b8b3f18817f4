/**
 * The settings of the process (top-level keys of the file): the HTTP server and its
 * protection, the log level, and running several processes — which shard this one is, of
 * how many, and where the token pairs live (files here, or a Redis shared by every shard).
 */
import { ordinalOfHost } from '../shard/rendezvous.js';
import type { ConfigProblem } from './problems.js';
import { TOP, TOP_DEFAULTS } from './settings.js';
import type { Layer, LoadContext } from './sources.js';
import { what } from './sources.js';
import type { HttpAuthConfig, MonitorConfig } from './types.js';

function valueOf<T>(layer: Layer, key: string): T | undefined {
  const entry = layer.get(key);
  return entry?.ok === true ? (entry.value as T) : undefined;
}

export function buildTop(
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
    const key = user === undefined ? 'httpAuth.basic.username' : 'httpAuth.basic.password';
    const spec = { ...TOP[key], key };
    ctx.problems.push({
      field: /^[A-Z_]+$/.test((user ?? password)?.label ?? '') ? spec.env : key,
      expected: `not set — expected ${what(spec)}: basic authentication needs both a user name and a password`,
    });
  }
  const sharding = resolveShard(
    valueOf(merged, 'shards') ?? TOP_DEFAULTS.shards,
    valueOf(merged, 'shard') ?? TOP_DEFAULTS.shard,
    host,
    {
      shards: merged.get('shards')?.label ?? 'shards',
      shard: merged.get('shard')?.label ?? 'shard',
    },
  );
  if ('field' in sharding) ctx.problems.push(sharding);
  // with a problem the configuration is refused: any shard stands in
  const { shards, shard } = 'field' in sharding ? { shards: 1, shard: 0 } : sharding;
  const store = valueOf<string>(merged, 'tokenStore')?.trim();
  const tokenStore = store === 'file' ? undefined : store;
  for (const secret of tokenStoreSecrets(tokenStore)) ctx.secrets.add(secret);
  return {
    listen: valueOf(merged, 'listen') ?? TOP_DEFAULTS.listen,
    shards,
    shard,
    tokenStore,
    logLevel: valueOf(merged, 'logLevel') ?? TOP_DEFAULTS.logLevel,
    maxConcurrentPolls: valueOf(merged, 'maxConcurrentPolls') ?? TOP_DEFAULTS.maxConcurrentPolls,
    httpAuth: bearerToken === undefined && basic === undefined ? undefined : { bearerToken, basic },
  };
}

/**
 * The shard of this process, checked against the count. `auto` reads the host name's trailing
 * number (a StatefulSet's pod `monitor-3` is shard 3).
 */
function resolveShard(
  count: number,
  shard: number | 'auto',
  hostname: string,
  fields: { shards: string; shard: string },
): { readonly shards: number; readonly shard: number } | ConfigProblem {
  const index = shard === 'auto' ? ordinalOfHost(hostname) : shard;
  const shown = shard === 'auto' ? `auto (host name "${hostname}"` : String(shard);
  if (index === undefined) {
    return {
      field: fields.shard,
      value: `${shown})`,
      expected:
        'expected a host name ending with the shard number, as a StatefulSet names its pods (monitor-0, monitor-1, ...); or give the number',
    };
  }
  if (index < count) return { shards: count, shard: index };
  return shard === 'auto'
    ? {
        field: fields.shard,
        value: `${shown} → ${index})`,
        expected: `expected a shard below ${fields.shards} (${count}): scale the StatefulSet and the shard count together`,
      }
    : {
        field: fields.shard,
        value: shown,
        expected: `expected a 0-based shard below ${fields.shards} (${count})`,
      };
}

/** The URL and its password (as given and decoded), for redaction; none without a password. */
function tokenStoreSecrets(url: string | undefined): string[] {
  if (url === undefined) return [];
  try {
    const { password } = new URL(url);
    return password === '' ? [] : [url, password, decodeURIComponent(password)];
  } catch {
    return [url];
  }
}
