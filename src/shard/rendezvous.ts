/**
 * Which shard owns a portal: rendezvous (highest-random-weight) hashing of the portal name.
 * Every process computes the same answer from the same config, with no coordination, and going
 * from N to N+1 shards moves only the portals whose new top score is the new shard's: about
 * 1/(N+1) of them (a modulo hash would move nearly all).
 */
import { createHash } from 'node:crypto';

/** The weight of `shard` for `name`: the first 8 bytes of sha1("name|shard"). Stable across versions and hosts. */
function weight(name: string, shard: number): bigint {
  return createHash('sha1').update(`${name}|${shard}`).digest().readBigUInt64BE(0);
}

/** The owner of `name` among shards 0..shards-1 (ties, practically never, go to the lower shard). */
export function ownerOf(name: string, shards: number): number {
  let best = 0;
  let bestWeight = -1n;
  for (let shard = 0; shard < shards; shard++) {
    const w = weight(name, shard);
    if (w > bestWeight) {
      best = shard;
      bestWeight = w;
    }
  }
  return best;
}

export interface ShardIdentity {
  /** 0-based. */
  readonly shard: number;
  /** At least 1. */
  readonly shards: number;
}

/** The items (portals) that `identity` owns, in their order. */
export function owned<T extends { readonly name: string }>(
  items: readonly T[],
  identity: ShardIdentity,
): T[] {
  if (identity.shards <= 1) return [...items];
  return items.filter((item) => ownerOf(item.name, identity.shards) === identity.shard);
}

/**
 * The shard of `MONITOR_SHARD=auto`: the trailing number of the host name, as a StatefulSet
 * names its pods (`monitor-3` → 3). Undefined when the name does not end with one.
 */
export function ordinalOfHost(hostname: string): number | undefined {
  const match = /-(\d+)$/.exec(hostname) ?? /(\d+)$/.exec(hostname);
  if (match?.[1] === undefined) return undefined;
  const value = Number(match[1]);
  return Number.isSafeInteger(value) ? value : undefined;
}
