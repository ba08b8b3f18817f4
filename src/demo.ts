/**
 * `npm run demo`: the built-in simulated Bitrix24 portal on loopback with live traffic
 * (producers add events, a consumer reserves, clears and fails them), and the monitor pointed
 * at it through the same configuration path a real portal takes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { startMonitor, type RunningMonitor } from './app.js';
import { formatProblems, loadConfig } from './config/load.js';
import { TOP } from './config/settings.js';
import { SecretRegistry } from './runtime/log.js';
import { DEFAULT_EVENT_NAMES, SimServer, startTraffic } from './sim/index.js';

export interface DemoOptions {
  readonly logger: Logger;
  /** Filled with the demo's secrets, which the logger scrubs. */
  readonly secrets?: SecretRegistry;
  /** `host:port` of the monitor. @default the configuration's (MONITOR_LISTEN) */
  readonly listen?: string | undefined;
  /** The environment: its MONITOR_* settings and LOG_LEVEL apply to the demo's monitor. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** @default 4 */
  readonly eventsPerSecond?: number;
}

export interface RunningDemo {
  readonly portalUrl: string;
  readonly metricsUrl: string;
  readonly statusUrl: string;
  readonly monitor: RunningMonitor;
  readonly sim: SimServer;
  stop(): Promise<void>;
}

const HOUR_MS = 3_600_000;

/**
 * The user's MONITOR_* settings and LOG_LEVEL pass through to the demo's monitor; the portal
 * settings (B24_*, and a MONITOR_CONFIG naming real portals) are the demo's own.
 */
function monitorSettings(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([key]) => (key.startsWith('MONITOR_') && key !== 'MONITOR_CONFIG') || key === 'LOG_LEVEL',
    ),
  );
}

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const sim = await SimServer.start({ host: '127.0.0.1' });
  const portal = sim.addPortal('demo', { events: [...DEFAULT_EVENT_NAMES] });
  // A backlog with a history: old failures and a stuck reservation, so that every metric,
  // panel and alert has something to show from the first poll.
  const now = Date.now();
  portal.fill({
    counts: {
      ONCRMLEADADD: { queued: 60, error: 6, reserved: 3 },
      ONCRMDEALUPDATE: { queued: 40, error: 2 },
      ONCRMCONTACTADD: { queued: 20, reserved: 2 },
    },
    newestMs: now - 30_000,
    oldestMs: now - 30 * HOUR_MS,
    reservedAtMs: now - 2 * HOUR_MS,
  });
  const traffic = startTraffic(portal, { eventsPerSecond: options.eventsPerSecond ?? 4 });
  // A portal has bad moments: some 500s on the monitor's reads show the client's retries and
  // the REST error panels (the consumer's methods are spared, to keep the queue moving).
  portal.faults.set({ errorRate: 0.1, methods: ['batch', 'event.offline.list'] });

  const dataDir = await mkdtemp(join(tmpdir(), 'b24-demo-'));
  const seed = portal.authorize('monitor');
  const env: Record<string, string | undefined> = {
    MONITOR_SCHEDULE: '*/10 * * * * *',
    ...monitorSettings(options.env ?? {}),
    MONITOR_LISTEN: options.listen ?? options.env?.['MONITOR_LISTEN'] ?? TOP.listen.default,
    B24_PORTAL_URL: portal.restUrl,
    B24_PORTAL_NAME: 'demo',
    B24_CLIENT_ID: portal.clientId,
    B24_CLIENT_SECRET: portal.clientSecret,
    B24_REFRESH_TOKEN: seed.refreshToken,
    B24_ACCESS_TOKEN: seed.accessToken,
    B24_OAUTH_URL: sim.oauthUrl,
    B24_TOKEN_FILE: join(dataDir, 'demo.tokens.json'),
  };
  const loaded = loadConfig({ env });
  if (!loaded.ok) {
    await traffic.stop();
    await sim.close();
    throw new Error(formatProblems(loaded.problems));
  }
  const secrets = options.secrets ?? new SecretRegistry();
  for (const value of loaded.config.secrets) secrets.add(value);
  const monitor = await startMonitor(loaded.config, { logger: options.logger, secrets });
  let stopping: Promise<void> | undefined;
  return {
    portalUrl: portal.restUrl,
    metricsUrl: `${monitor.server.url}/metrics`,
    statusUrl: `${monitor.server.url}/`,
    monitor,
    sim,
    stop() {
      stopping ??= (async () => {
        await monitor.stop();
        await traffic.stop();
        await sim.close();
        await rm(dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
