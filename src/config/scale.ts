/**
 * The settings of running several processes: which shard this process is, of how many, and
 * where the token pairs live (files on this machine, or a Redis shared by every shard).
 */
import { z } from 'zod';

import { ordinalOfHost } from '../shard/rendezvous.js';
import type { ConfigProblem } from './problems.js';

/** Most shards accepted: far beyond any fleet, low enough that a typo is caught. */
const MAX_SHARDS = 1024;

const SHARDS_EXPECTED = `expected a whole number of shards from 1 to ${MAX_SHARDS}`;
const SHARD_EXPECTED =
  'expected a 0-based shard number, or auto (the trailing number of the host name)';

export const Shards = z
  .number({ error: SHARDS_EXPECTED })
  .int({ error: SHARDS_EXPECTED })
  .min(1, { error: SHARDS_EXPECTED })
  .max(MAX_SHARDS, { error: SHARDS_EXPECTED });

/** A number, digits (the environment gives text), or `auto`. */
export const Shard = z.union(
  [
    z.number().int().min(0),
    z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^(auto|\d{1,9})$/)
      .transform((value) => (value === 'auto' ? ('auto' as const) : Number(value))),
  ],
  { error: SHARD_EXPECTED },
);

/** How a token store URL is shown in a problem: it may hold a password. */
export const REDACTED_STORE = '[redacted]';

export const TOKEN_STORE_EXPECTED =
  'expected file, or redis://[user:password@]host:port/db (rediss:// for TLS)';

/** `file`, or a redis:// / rediss:// URL with an optional database number as its path. */
export const TokenStoreSetting = z.string({ error: TOKEN_STORE_EXPECTED }).refine(
  (value) => {
    const trimmed = value.trim();
    if (trimmed === 'file') return true;
    try {
      const url = new URL(trimmed);
      return (
        (url.protocol === 'redis:' || url.protocol === 'rediss:') &&
        url.hostname !== '' &&
        /^\/?(\d{1,2})?$/.test(url.pathname)
      );
    } catch {
      return false;
    }
  },
  { error: TOKEN_STORE_EXPECTED },
);

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
