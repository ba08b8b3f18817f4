/**
 * One process polling 1,000 portals every 30 s (parent side): one simulated server hosting
 * them all with the real portal limits (2 requests/s, 50 burst), each a small queue (some
 * large, which `auto` counts instead of scanning), a YAML config with a token file per
 * portal, the monitor in a measured child and /metrics scraped from another.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { seededRandom, SimServer } from '../src/sim/index.js';
import { Child, runChild } from './children.js';
import type { FleetDone, FleetMeasured, ScrapeResult } from './protocol.js';
import { EVENT_NAMES_8, fillSpec } from './queueShape.js';
import { round } from './stats.js';

const FLEET_SCHEDULE = '*/30 * * * * *';

export interface FleetPlan {
  readonly portals: number;
  readonly durationMs: number;
  /** Every n-th portal holds a large queue. */
  readonly largeEvery: number;
  readonly smallRows: readonly [number, number];
  readonly largeRows: readonly [number, number];
  readonly sequentialScrapes: number;
  readonly burstScrapes: number;
  readonly burstConcurrency: number;
}

export interface FleetResult {
  readonly plan: FleetPlan;
  readonly schedule: string;
  readonly clientRateLimit: { readonly capacity: number; readonly drainPerSecond: number };
  readonly maxConcurrentPolls: number;
  readonly logLevel: string;
  readonly rows: number;
  readonly largePortals: number;
  readonly setupS: number;
  readonly measured: FleetMeasured;
  readonly done: FleetDone;
  readonly scrape: ScrapeResult;
  /** Log lines by message, from the monitor's log file. */
  readonly logLines: Readonly<Record<string, number>>;
  /** Requests the simulated portals answered with 503 QUERY_LIMIT_EXCEEDED. */
  readonly portalRateLimitRefusals: number;
}

const CLIENT_RATE_LIMIT = { capacity: 10, drainPerSecond: 2 } as const;
/** The built-in default, written out. */
const MAX_CONCURRENT_POLLS = 8;
/** The built-in default, as in production: one JSON line per poll. */
const LOG_LEVEL = 'info';

async function countLogLines(file: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let msg = 'unparsed';
    try {
      const parsed = JSON.parse(line) as { level?: string; msg?: string };
      msg = `${parsed.level ?? '?'}: ${parsed.msg ?? '?'}`;
    } catch {
      // counted as unparsed
    }
    counts[msg] = (counts[msg] ?? 0) + 1;
  }
  return counts;
}

export async function measureFleet(
  tmp: string,
  plan: FleetPlan,
  log: (line: string) => void,
): Promise<FleetResult> {
  const started = performance.now();
  const dir = join(tmp, 'fleet');
  await mkdir(join(dir, 'tokens'), { recursive: true, mode: 0o700 });
  const sim = await SimServer.start();
  try {
    const random = seededRandom(1000);
    const between = ([lo, hi]: readonly [number, number]) =>
      lo + Math.floor(random() * (hi - lo + 1));
    const portals: Record<string, unknown>[] = [];
    let rows = 0;
    let largePortals = 0;
    let clientId = '';
    let clientSecret = '';
    for (let i = 0; i < plan.portals; i++) {
      const name = `p${String(i + 1).padStart(4, '0')}`;
      const names = EVENT_NAMES_8.slice(0, between([3, EVENT_NAMES_8.length]));
      const large = (i + 1) % plan.largeEvery === 0;
      const size = between(large ? plan.largeRows : plan.smallRows);
      const portal = sim.addPortal(name, { events: names, journalCapacity: 1000 });
      portal.fill(fillSpec(size, names, Date.now()));
      rows += size;
      if (large) largePortals++;
      const pair = portal.authorize('monitor');
      const tokenFile = join(dir, 'tokens', `${name}.tokens.json`);
      await writeFile(
        tokenFile,
        JSON.stringify({
          refreshToken: pair.refreshToken,
          accessToken: pair.accessToken,
          expiresAt: new Date(pair.expires * 1000).toISOString(),
        }),
        { mode: 0o600 },
      );
      clientId = portal.clientId;
      clientSecret = portal.clientSecret;
      portals.push({ name, url: portal.restUrl, tokenFile });
    }
    const configFile = join(dir, 'monitor.yaml');
    const config = {
      listen: '127.0.0.1:0',
      logLevel: LOG_LEVEL,
      maxConcurrentPolls: MAX_CONCURRENT_POLLS,
      defaults: {
        clientId,
        clientSecret,
        oauthUrl: sim.oauthUrl,
        schedule: FLEET_SCHEDULE,
        strategy: 'auto',
        rateLimit: CLIENT_RATE_LIMIT,
      },
      portals,
    };
    await writeFile(configFile, stringify(config), { mode: 0o600 });
    const logFile = join(dir, 'monitor.log');
    const setupS = round((performance.now() - started) / 1000, 1);
    log(`fleet: ${plan.portals} portals, ${rows} rows, polling for ${plan.durationMs / 1000} s`);

    const child = new Child(
      { kind: 'fleet', configFile, durationMs: plan.durationMs, logFile },
      { timeoutMs: plan.durationMs + 300_000 },
    );
    try {
      const ready = await child.expect('fleet-ready');
      const measured = await child.expect('fleet-measured');
      log(`fleet: scraping /metrics`);
      const scrape = await runChild(
        {
          kind: 'scrape',
          url: ready.url,
          sequential: plan.sequentialScrapes,
          burst: plan.burstScrapes,
          concurrency: plan.burstConcurrency,
        },
        'scrape',
      );
      child.send({ kind: 'stop' });
      const done = await child.expect('fleet-done');
      await child.exit();
      const refusals = sim
        .listPortals()
        .reduce((total, portal) => total + portal.journal.list({ status: 503 }).length, 0);
      return {
        plan,
        schedule: FLEET_SCHEDULE,
        clientRateLimit: CLIENT_RATE_LIMIT,
        maxConcurrentPolls: MAX_CONCURRENT_POLLS,
        logLevel: LOG_LEVEL,
        rows,
        largePortals,
        setupS,
        measured,
        done,
        scrape,
        logLines: await countLogLines(logFile),
        portalRateLimitRefusals: refusals,
      };
    } catch (error) {
      child.kill();
      throw error;
    }
  } finally {
    await sim.close();
  }
}
