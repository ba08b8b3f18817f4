/** The gauges that say which shard a process is and how many portals it owns. */
import { Gauge, type Registry } from 'prom-client';
import type { ShardIdentity } from './rendezvous.js';

export function registerShardMetrics(
  registry: Registry,
  identity: ShardIdentity,
  ownedPortals: number,
): void {
  const info = new Gauge({
    name: 'b24_offline_shard_info',
    help: 'Always 1; shard is this process (0-based) of shards processes sharing the portals',
    labelNames: ['shard', 'shards'],
    registers: [registry],
  });
  info.set({ shard: String(identity.shard), shards: String(identity.shards) }, 1);
  const portals = new Gauge({
    name: 'b24_offline_shard_portals',
    help: 'Portals this shard owns (by rendezvous hashing of the portal name) and polls',
    registers: [registry],
  });
  portals.set(ownedPortals);
}
