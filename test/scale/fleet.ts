/**
 * A fleet for the shard tests: many simulated portals in one config file, a real Redis, and
 * shard processes (the real CLI) that read the same file, each told its shard. The test
 * scrapes every shard and checks the union against the simulated portals' truth.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SimPortal, SimServer } from '../../src/sim/index.js';
import { startMonitorCli } from '../hardening/support.js';
import { freePort, jsonLines, type Running } from '../helpers/processes.js';
import { parsePromText, select, type Sample } from '../helpers/promText.js';

export interface FleetPortal {
  readonly name: string;
  readonly portal: SimPortal;
  /** The rows the queue holds (it does not change during the test). */
  readonly depth: number;
}

/** `count` portals with small fixed queues, and the config file that lists them all. */
export async function makeFleet(
  sim: SimServer,
  dir: string,
  count: number,
  schedule: string,
): Promise<{ portals: FleetPortal[]; configFile: string }> {
  const portals: FleetPortal[] = [];
  const entries: string[] = [];
  for (let i = 0; i < count; i++) {
    const portal = sim.addPortal(`s${i}`, { rateLimit: null, events: ['ONCRMLEADADD'] });
    portal.fill({ counts: { ONCRMLEADADD: { queued: i % 7, error: i % 3 } } });
    const seed = portal.authorize('monitor');
    const name = `shop-${i}.bitrix24.com`;
    portals.push({ name, portal, depth: (i % 7) + (i % 3) });
    entries.push(
      `  - { name: "${name}", url: "${portal.restUrl}", refreshToken: "${seed.refreshToken}" }`,
    );
  }
  const first = portals[0]!.portal;
  const configFile = join(dir, 'monitor.yaml');
  await writeFile(
    configFile,
    [
      'defaults:',
      `  clientId: "${first.clientId}"`,
      `  clientSecret: "${first.clientSecret}"`,
      `  oauthUrl: "${sim.oauthUrl}"`,
      `  schedule: "${schedule}"`,
      '  rateLimit: { capacity: 1000, drainPerSecond: 1000 }',
      'portals:',
      ...entries,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return { portals, configFile };
}

export interface Shard {
  readonly shard: number;
  readonly shards: number;
  readonly url: string;
  readonly process: Running;
}

/** Every process started, with its output, for the final checks. */
export const allShards: Shard[] = [];

export async function startShard(
  configFile: string,
  redisUrl: string,
  shard: number,
  shards: number,
): Promise<Shard> {
  const port = await freePort();
  const process = await startMonitorCli(['start'], {
    MONITOR_CONFIG: configFile,
    MONITOR_TOKEN_STORE: redisUrl,
    MONITOR_SHARDS: String(shards),
    MONITOR_SHARD: String(shard),
    MONITOR_LISTEN: `127.0.0.1:${port}`,
    MONITOR_REQUEST_TIMEOUT: '3000',
  });
  const started: Shard = { shard, shards, url: `http://127.0.0.1:${port}`, process };
  allShards.push(started);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (process.child.exitCode !== null) {
      throw new Error(`shard ${shard} exited: ${process.stdout()} ${process.stderr()}`);
    }
    try {
      if ((await fetch(`${started.url}/healthz`)).ok) return started;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`shard ${shard} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function stopShard(shard: Shard, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (shard.process.child.exitCode === null && shard.process.child.signalCode === null) {
    shard.process.child.kill(signal);
  }
  await shard.process.exited;
}

async function scrape(shard: Shard): Promise<Sample[]> {
  return parsePromText(await (await fetch(`${shard.url}/metrics`)).text());
}

export interface FleetView {
  /** Portal name → the shards that export it as up. */
  readonly upOn: Map<string, number[]>;
  /** Portal name → its queue depth as exported (by the shard where it is up). */
  readonly depth: Map<string, number>;
  /** Portal name → every shard that exports any series of it. */
  readonly exportedBy: Map<string, number[]>;
  readonly ownedCounts: number[];
  readonly storeUp: number[];
  /** Portal name → last success, Unix seconds. */
  readonly lastSuccess: Map<string, number>;
}

export async function viewFleet(shards: readonly Shard[]): Promise<FleetView> {
  const view: FleetView = {
    upOn: new Map(),
    depth: new Map(),
    exportedBy: new Map(),
    ownedCounts: [],
    storeUp: [],
    lastSuccess: new Map(),
  };
  const add = (map: Map<string, number[]>, key: string, shard: number): void => {
    const list = map.get(key) ?? [];
    if (!list.includes(shard)) list.push(shard);
    map.set(key, list);
  };
  for (const shard of shards) {
    const samples = await scrape(shard);
    for (const sample of samples) {
      const portal = sample.labels['portal'];
      if (portal !== undefined) add(view.exportedBy, portal, shard.shard);
    }
    for (const sample of select(samples, 'b24_offline_up')) {
      if (sample.value === 1) add(view.upOn, sample.labels['portal']!, shard.shard);
    }
    for (const sample of select(samples, 'b24_offline_queue_depth')) {
      view.depth.set(sample.labels['portal']!, sample.value);
    }
    for (const sample of select(samples, 'b24_offline_last_success_timestamp_seconds')) {
      view.lastSuccess.set(sample.labels['portal']!, sample.value);
    }
    view.ownedCounts.push(select(samples, 'b24_offline_shard_portals')[0]?.value ?? -1);
    view.storeUp.push(select(samples, 'b24_offline_token_store_up')[0]?.value ?? -1);
  }
  return view;
}

/** Log lines of a shard process with this message. */
export function linesOf(shard: Shard, msg: string): Record<string, unknown>[] {
  return jsonLines(shard.process.stdout()).filter((line) => line['msg'] === msg);
}
