/**
 * A simulated portal on real HTTP and one PortalPoller pointed at it, built by hand so that a
 * test can give both the same manual clock, wrap the REST client, and read the poller's own
 * metrics registry and log lines.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { createPortalClient } from '../../src/b24/portalClient.js';
import type { RestClient } from '../../src/b24/types.js';
import { loadConfig } from '../../src/config/load.js';
import { createMetrics } from '../../src/metrics/definitions.js';
import { PortalMetrics } from '../../src/metrics/portalMetrics.js';
import { PortalPoller, type PortalPollerOptions } from '../../src/poll/poller.js';
import { RequestCounter } from '../../src/poll/requestCounter.js';
import type { ManualClock } from '../../src/sim/index.js';
import { SimServer, type SimPortal, type SimPortalOptions } from '../../src/sim/index.js';
import { captureLogger, type CapturedLogger } from './logs.js';
import { parsePromText, type Sample } from './promText.js';

export interface PlanPortal {
  readonly sim: SimServer;
  readonly portal: SimPortal;
  readonly poller: PortalPoller;
  readonly clock: ManualClock | null;
  readonly log: CapturedLogger;
  scrape(): Promise<Sample[]>;
  /** `event.offline.list` calls of the monitor (batch commands and direct calls), oldest first. */
  listFilters(): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface PlanPortalOptions {
  readonly portal?: SimPortalOptions;
  readonly poller?: Partial<PortalPollerOptions>;
  /** A manual clock shared by the portal and the poller; null: real time. @default null */
  readonly clock?: ManualClock | null;
  /** Wraps the real client (e.g. to drop `total`). */
  readonly wrap?: (client: RestClient) => RestClient;
  readonly env?: Readonly<Record<string, string>>;
}

export async function startPlanPortal(options: PlanPortalOptions = {}): Promise<PlanPortal> {
  const clock = options.clock ?? null;
  const sim = await SimServer.start(clock === null ? {} : { clock });
  const portal = sim.addPortal('portal', { rateLimit: null, ...options.portal });
  const dir = await mkdtemp(join(tmpdir(), 'b24-plan-'));
  const { accessToken, refreshToken } = portal.authorize('monitor');
  const loaded = loadConfig({
    env: {
      B24_PORTAL_URL: portal.restUrl,
      B24_PORTAL_NAME: 'portal',
      B24_CLIENT_ID: portal.clientId,
      B24_CLIENT_SECRET: portal.clientSecret,
      B24_REFRESH_TOKEN: refreshToken,
      B24_ACCESS_TOKEN: accessToken,
      B24_OAUTH_URL: sim.oauthUrl,
      B24_TOKEN_FILE: join(dir, 'tokens.json'),
      MONITOR_RATE_LIMIT_CAPACITY: '1000',
      MONITOR_RATE_LIMIT_PER_SECOND: '1000',
      ...options.env,
    },
  });
  if (!loaded.ok) throw new Error('bad test configuration');
  const config = loaded.config.portals[0]!;
  const metrics = createMetrics('0.0.0');
  const portalMetrics = new PortalMetrics(metrics, 'portal');
  const requests = new RequestCounter(portalMetrics);
  const log = captureLogger();
  const dispatcher = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
  const { client } = createPortalClient(config, {
    observer: requests,
    logger: log.logger,
    dispatcher,
  });
  const poller = new PortalPoller({
    name: 'portal',
    client: options.wrap === undefined ? client : options.wrap(client),
    observer: portalMetrics,
    requests,
    logger: log.logger,
    strategy: config.strategy,
    dbTimeShare: config.dbTimeShare,
    requestTimeoutMs: config.requestTimeoutMs,
    pollTimeoutMs: config.pollTimeoutMs,
    ...(clock === null ? {} : { now: () => clock.now() }),
    ...options.poller,
  });
  return {
    sim,
    portal,
    poller,
    clock,
    log,
    async scrape() {
      return parsePromText(await metrics.registry.metrics());
    },
    listFilters() {
      return portal.journal
        .list({ holder: 'monitor', method: 'event.offline.list' })
        .map((entry) => (entry.params?.['filter'] ?? {}) as Record<string, unknown>);
    },
    async close() {
      await client.close();
      await dispatcher.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
