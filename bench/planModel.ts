/**
 * The count plan over 30 minutes of 30-s polls (a manual clock) against the in-memory portal,
 * with every answer's `processing` rewritten by the cost model of the real table: a command
 * costs its share of one COUNT(*) over the queue (0.3 s, MariaDB at 1M rows) by the rows its
 * best index reaches (see src/poll/cost.ts). Figures of the model, not of a real database:
 * the SQL-backed portal is what measures one.
 *
 *     npx tsx bench/planModel.ts [rows=1000000] [countSeconds=0.3]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Agent } from 'undici';
import { createPortalClient } from '../src/b24/portalClient.js';
import type { BatchCommand, RestClient } from '../src/b24/types.js';
import { loadConfig } from '../src/config/load.js';
import { createMetrics } from '../src/metrics/definitions.js';
import { PortalMetrics } from '../src/metrics/portalMetrics.js';
import { PortalPoller } from '../src/poll/poller.js';
import type { PollReport } from '../src/poll/report.js';
import { RequestCounter } from '../src/poll/requestCounter.js';
import { ManualClock, SimServer } from '../src/sim/index.js';
import { EVENT_NAMES_8, queueMix } from './queueShape.js';

const rows = Number(process.argv[2] ?? 1_000_000);
const countSeconds = Number(process.argv[3] ?? 0.3);
const DAY = 86_400_000;

/** The fill spreads rows evenly over [oldestMs, newestMs]: the share a TIMESTAMP_X bound keeps. */
interface Spread {
  readonly oldestMs: number;
  readonly newestMs: number;
}

function rangeShare(filter: Record<string, unknown>, spread: Spread): number | null {
  const bound = filter['<TIMESTAMP_X'] ?? filter['>=TIMESTAMP_X'];
  if (typeof bound !== 'string') return null;
  const at = Date.parse(bound);
  const span = Math.max(1, spread.newestMs - spread.oldestMs);
  const older = Math.min(1, Math.max(0, (at - spread.oldestMs) / span));
  return '<TIMESTAMP_X' in filter ? older : 1 - older;
}

/**
 * What EXPLAIN shows on MariaDB (src/poll/cost.ts): `>PROCESS_ID ""` a range of its index,
 * `=PROCESS_ID ""` and EVENT_NAME or ERROR filters a pass over the table, a TIMESTAMP_X bound
 * read through its index when it keeps at most 5 % of the rows.
 */
function costed(client: RestClient, size: { rows: number; reserved: number }, spread: Spread) {
  const cost = (command: BatchCommand): number => {
    if (command.method !== 'event.offline.list') return 0.001;
    const filter = (command.params['filter'] ?? {}) as Record<string, unknown>;
    let reached = '>PROCESS_ID' in filter ? size.reserved : size.rows;
    const share = rangeShare(filter, spread);
    if (share !== null && share <= 0.05) reached = Math.min(reached, share * size.rows);
    return (countSeconds * Math.max(50, reached)) / size.rows;
  };
  const requests: number[] = [];
  const wrapped: RestClient = {
    async call(method, params, options) {
      const answer = await client.call(method, params, options);
      const seconds = cost({ method: method as BatchCommand['method'], params });
      requests.push(seconds);
      return { ...answer, time: { ...answer.time, processing: seconds } };
    },
    async batch(commands, options) {
      const answer = await client.batch(commands, options);
      const resultTime = { ...answer.resultTime };
      let sum = 0;
      for (const [name, command] of Object.entries(commands)) {
        sum += cost(command);
        resultTime[name] = { ...resultTime[name], processing: cost(command) };
      }
      requests.push(sum);
      return { ...answer, resultTime };
    },
  };
  return { wrapped, requests };
}

async function run(shape: 'healthy' | 'stuck'): Promise<Record<string, string>> {
  const clock = new ManualClock(Date.now());
  const sim = await SimServer.start({ clock });
  const portal = sim.addPortal('p', {
    rateLimit: null,
    operatingLimit: null,
    events: [...EVENT_NAMES_8],
  });
  const now = clock.now();
  const spread: Spread = {
    newestMs: shape === 'healthy' ? now - 1_000 : now - 2 * DAY,
    oldestMs: shape === 'healthy' ? now - 50_000 : now - 9 * DAY,
  };
  portal.fill({ counts: queueMix(rows, EVENT_NAMES_8), ...spread });
  const truth = portal.truth(now / 1000);
  let reserved = 0;
  for (const g of truth.groups.values()) reserved += g.reserved.count;
  const dir = await mkdtemp(join(tmpdir(), 'b24-plan-model-'));
  const { accessToken, refreshToken } = portal.authorize('monitor');
  const loaded = loadConfig({
    env: {
      B24_PORTAL_URL: portal.restUrl,
      B24_CLIENT_ID: portal.clientId,
      B24_CLIENT_SECRET: portal.clientSecret,
      B24_REFRESH_TOKEN: refreshToken,
      B24_ACCESS_TOKEN: accessToken,
      B24_OAUTH_URL: sim.oauthUrl,
      B24_TOKEN_FILE: join(dir, 't.json'),
      MONITOR_RATE_LIMIT_CAPACITY: '1000',
      MONITOR_RATE_LIMIT_PER_SECOND: '1000',
    },
  });
  if (!loaded.ok) throw new Error('config');
  const config = loaded.config.portals[0]!;
  const dispatcher = new Agent({ keepAliveTimeout: 10 });
  const metrics = new PortalMetrics(createMetrics('bench'), 'p');
  const requests = new RequestCounter(metrics);
  const logger = pino({ level: 'silent' });
  const { client } = createPortalClient(config, { observer: requests, logger, dispatcher });
  const meter = costed(client, { rows: truth.depth, reserved }, spread);
  const poller = new PortalPoller({
    name: 'p',
    client: meter.wrapped,
    observer: metrics,
    requests,
    logger,
    now: () => clock.now(),
    dbTimeShare: config.dbTimeShare,
    requestTimeoutMs: config.requestTimeoutMs,
  });
  const reports: PollReport[] = [];
  for (let i = 0; i < 60; i++) {
    reports.push(await poller.poll());
    clock.advance(30_000);
  }
  await client.close();
  await dispatcher.close();
  await sim.close();
  await rm(dir, { recursive: true, force: true });
  const ok = reports.filter((r) => r.ok);
  const spent = ok.reduce((s, r) => s + (r.processingSeconds ?? 0), 0);
  const headline = ok.filter((r, i) => i > 0 && (r.processingSeconds ?? 0) < 4 * countSeconds);
  const maxAge = Math.max(...ok.map((r) => r.startedAt / 1000 - (r.breakdownAt ?? 0)));
  return {
    shape,
    rows: String(truth.depth),
    'polls ok': `${ok.length}/${reports.length}`,
    'db time / wall': `${((100 * spent) / (reports.length * 30)).toFixed(2)} %`,
    'headline poll': `${(headline[0]?.processingSeconds ?? NaN).toFixed(3)} s = ${((headline[0]?.processingSeconds ?? NaN) / countSeconds).toFixed(2)} COUNT(*)`,
    'breakdown polls': String(ok.length - headline.length),
    'max requests/poll': String(Math.max(...ok.map((r) => r.requests))),
    'max request': `${Math.max(...meter.requests).toFixed(2)} s`,
    'max breakdown age': `${maxAge.toFixed(0)} s`,
  };
}

for (const shape of ['healthy', 'stuck'] as const) console.log(JSON.stringify(await run(shape)));
