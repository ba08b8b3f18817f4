/**
 * The composition root: builds every piece from a validated config and hands each what it
 * needs. Only the CLI touches `process`.
 */
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import type { Clock } from './b24/clock.js';
import { createPortalClient, type PortalClient } from './b24/portalClient.js';
import type { MonitorConfig } from './config/types.js';
import { startHttpServer, type MonitorServer } from './http/server.js';
import { createMetrics, type MonitorMetrics } from './metrics/definitions.js';
import { PortalMetrics } from './metrics/portalMetrics.js';
import { PortalPoller } from './poll/poller.js';
import type { PollReport } from './poll/report.js';
import { RequestCounter } from './poll/requestCounter.js';
import { startScheduler, type Scheduler } from './poll/scheduler.js';
import { Semaphore } from './poll/semaphore.js';
import type { SecretRegistry } from './runtime/log.js';
import { VERSION } from './runtime/version.js';
import { registerShardMetrics } from './shard/metrics.js';
import { owned } from './shard/rendezvous.js';
import { createTokenStores } from './tokens/tokenStores.js';

export interface MonitorDeps {
  readonly logger: Logger;
  readonly secrets?: SecretRegistry | undefined;
  /** Shared by every portal's REST and OAuth requests. @default a keep-alive Agent */
  readonly dispatcher?: Dispatcher | undefined;
  /**
   * Time and waits of the REST clients (retry backoff, rate limiting) and the pollers' time
   * (the database budget, the breakdowns' age). @default the system clock
   */
  readonly clock?: Clock | undefined;
}

export interface Monitor {
  readonly config: MonitorConfig;
  readonly metrics: MonitorMetrics;
  readonly pollers: readonly PortalPoller[];
  /** One poll of every portal (bounded concurrency). */
  pollOnce(signal?: AbortSignal): Promise<PollReport[]>;
  /** Portals whose rotated token pair could not be written to the token file (held in memory only). */
  unsavedTokens(): { portal: string; message: string }[];
  /**
   * Waits for token refreshes in flight (each bounded by its own request timeout) and for the
   * token files to hold their pairs: a pair the OAuth server rotated is never dropped at exit.
   */
  settle(): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

export interface RunningMonitor extends Monitor {
  readonly server: MonitorServer;
  /**
   * Stops scheduling, aborts polls in flight, closes the server, waits for refreshes in flight
   * and their durable saves, then closes connections.
   */
  stop(): Promise<void>;
}

export function buildMonitor(fullConfig: MonitorConfig, deps: MonitorDeps): Monitor {
  // a shard builds, polls, exports and reports readiness for the portals it owns only
  const config = { ...fullConfig, portals: owned(fullConfig.portals, fullConfig) };
  const metrics = createMetrics(VERSION);
  registerShardMetrics(metrics.registry, config, config.portals.length);
  const stores = createTokenStores(config.tokenStore, deps.logger, metrics.registry);
  const dispatcher = deps.dispatcher ?? new Agent({ keepAliveTimeout: 30_000 });
  const clients: PortalClient[] = [];
  const clock = deps.clock;
  const pollers = config.portals.map((portal) => {
    const logger = deps.logger.child({ portal: portal.name });
    const portalMetrics = new PortalMetrics(metrics, portal.name);
    const requests = new RequestCounter(portalMetrics);
    const client = createPortalClient(portal, {
      observer: requests,
      logger,
      dispatcher,
      secrets: deps.secrets,
      clock: deps.clock,
      store: stores.storeFor(portal),
    });
    clients.push(client);
    return new PortalPoller({
      name: portal.name,
      client: client.client,
      observer: portalMetrics,
      requests,
      logger,
      strategy: portal.strategy,
      maxEventNames: portal.maxEventNames,
      dbTimeShare: portal.dbTimeShare,
      requestTimeoutMs: portal.requestTimeoutMs,
      pollTimeoutMs: portal.pollTimeoutMs,
      staleAfterMs: portal.staleAfterMs,
      authConnector: portal.authConnector,
      // the budget and the breakdowns' 5-minute promise read the same clock as the clients
      ...(clock === undefined ? {} : { now: () => clock.now() }),
    });
  });
  return {
    config,
    metrics,
    pollers,
    async pollOnce(signal) {
      const semaphore = new Semaphore(config.maxConcurrentPolls);
      return Promise.all(pollers.map((poller) => semaphore.run(() => poller.poll(signal))));
    },
    unsavedTokens() {
      return clients.flatMap(({ tokens }) =>
        tokens.persistError === undefined
          ? []
          : [{ portal: tokens.portal, message: tokens.persistError.message }],
      );
    },
    async settle() {
      await Promise.all(clients.map(({ tokens }) => tokens.settle()));
    },
    async close() {
      await Promise.all(clients.map(({ client }) => client.close()));
      await stores.close();
      if (deps.dispatcher === undefined) await dispatcher.close();
    },
  };
}

/** Builds the monitor, serves HTTP, polls every portal at once and then on schedule. */
export async function startMonitor(
  config: MonitorConfig,
  deps: MonitorDeps,
): Promise<RunningMonitor> {
  const monitor = buildMonitor(config, deps);
  const server = await startHttpServer({
    host: config.listen.host,
    port: config.listen.port,
    metrics: monitor.metrics,
    pollers: monitor.pollers,
    logger: deps.logger,
    version: VERSION,
    auth: config.httpAuth,
  });
  const abort = new AbortController();
  const scheduler: Scheduler = startScheduler({
    portals: monitor.pollers.map((poller, i) => ({
      poller,
      schedule: monitor.config.portals[i]?.schedule ?? '',
    })),
    logger: deps.logger,
    maxConcurrentPolls: config.maxConcurrentPolls,
    signal: abort.signal,
  });
  deps.logger.info(
    {
      version: VERSION,
      url: server.url,
      metricsUrl: `${server.url}/metrics`,
      portals: monitor.pollers.length,
      ...(config.shards > 1 ? { shard: config.shard, shards: config.shards } : {}),
    },
    'Monitor started',
  );
  // not awaited: start() returns once serving; each poll reports its own failures, so a
  // rejection here is a bug, logged rather than lost
  scheduler.pollAll().catch((error: unknown) => {
    deps.logger.error({ err: error }, 'First polls failed unexpectedly');
  });
  let stopping: Promise<void> | undefined;
  return {
    ...monitor,
    server,
    stop() {
      stopping ??= (async () => {
        abort.abort();
        await scheduler.stop();
        await server.close();
        await monitor.settle();
        await monitor.close();
        deps.logger.info({}, 'Monitor stopped');
      })();
      return stopping;
    },
  };
}
