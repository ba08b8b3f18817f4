/**
 * The settings of the process (top-level keys of the file): the HTTP server and its
 * protection, the log level, and running several processes — which shard this one is, of
 * how many, and where the token pairs live (files here, or a Redis shared by every shard).
 */
import { ordinalOfHost } from '../shard/rendezvous.js';
import type { Values } from './settings.js';
import { TOP, TOP_DEFAULTS, TOP_SPECS } from './settings.js';
import type { Layer, LoadContext } from './sources.js';
import { valuesOf, what } from './sources.js';
import type { MonitorConfig } from './types.js';

export function buildTop(
  ctx: LoadContext,
  merged: Layer,
  host: string,
): Omit<MonitorConfig, 'portals' | 'secrets'> {
  const top = valuesOf<Values<typeof TOP>>(merged, TOP_SPECS, TOP_DEFAULTS).values;

  const user = merged.get('httpAuth.basic.username');
  const password = merged.get('httpAuth.basic.password');
  if ((user === undefined) !== (password === undefined)) {
    const key = user === undefined ? 'httpAuth.basic.username' : 'httpAuth.basic.password';
    ctx.problems.push({
      field: /^[A-Z_]+$/.test((user ?? password)?.label ?? '') ? TOP[key].env : key,
      expected: `not set — expected ${what(TOP[key])}: basic authentication needs both a user name and a password`,
    });
  }
  const username = top['httpAuth.basic.username'];
  const secret = top['httpAuth.basic.password'];
  const basic =
    username === undefined || secret === undefined ? undefined : { username, password: secret };
  const bearerToken = top['httpAuth.bearerToken'];

  // with a problem the configuration is refused: any shard stands in
  const shard = shardOf(ctx, top.shards, top.shard, host, merged);
  const store = top.tokenStore?.trim();
  const tokenStore = store === 'file' ? undefined : store;
  for (const secret of tokenStoreSecrets(tokenStore)) ctx.secrets.add(secret);
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
  const shards = merged.get('shards')?.label ?? 'shards';
  const auto = `auto (host name "${hostname}"`;
  ctx.problems.push(
    index === undefined
      ? {
          field,
          value: `${auto})`,
          expected:
            'expected a host name ending with the shard number, as a StatefulSet names its pods (monitor-0, monitor-1, ...); or give the number',
        }
      : shard === 'auto'
        ? {
            field,
            value: `${auto} → ${index})`,
            expected: `expected a shard below ${shards} (${count}): scale the StatefulSet and the shard count together`,
          }
        : {
            field,
            value: String(shard),
            expected: `expected a 0-based shard below ${shards} (${count})`,
          },
  );
  return undefined;
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
