/**
 * Running several processes: which shard this process is, of how many, and the secrets of
 * the token store URL (files on this machine, or a Redis shared by every shard).
 */
import { ordinalOfHost } from '../shard/rendezvous.js';
import type { ConfigProblem } from './problems.js';

export interface ShardSettings {
  readonly shards: number;
  readonly shard: number;
}

/**
 * The shard of this process, checked against the count. `auto` reads the host name's trailing
 * number (a StatefulSet's pod `monitor-3` is shard 3).
 */
export function resolveShard(
  shards: number | undefined,
  shard: number | 'auto' | undefined,
  hostname: string,
  fieldNames: { shards: string; shard: string },
): ShardSettings | ConfigProblem {
  const count = shards ?? 1;
  if (shard === 'auto') {
    const ordinal = ordinalOfHost(hostname);
    if (ordinal === undefined) {
      return {
        field: fieldNames.shard,
        value: `auto (host name "${hostname}")`,
        expected:
          'expected a host name ending with the shard number, as a StatefulSet names its pods (monitor-0, monitor-1, ...); or give the number',
      };
    }
    if (ordinal >= count) {
      return {
        field: fieldNames.shard,
        value: `auto (host name "${hostname}" → ${ordinal})`,
        expected: `expected a shard below ${fieldNames.shards} (${count}): scale the StatefulSet and the shard count together`,
      };
    }
    return { shards: count, shard: ordinal };
  }
  const index = shard ?? 0;
  if (index >= count) {
    return {
      field: fieldNames.shard,
      value: String(index),
      expected: `expected a 0-based shard below ${fieldNames.shards} (${count})`,
    };
  }
  return { shards: count, shard: index };
}

/** The URL and its password (as given and decoded), for redaction; none without a password. */
export function tokenStoreSecrets(url: string | undefined): string[] {
  if (url === undefined) return [];
  try {
    const { password } = new URL(url);
    return password === '' ? [] : [url, password, decodeURIComponent(password)];
  } catch {
    return [url];
  }
}
