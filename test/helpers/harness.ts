/**
 * A simulated portal on a real HTTP server and a monitor pointed at it through the real
 * configuration loader, with captured logs. Every harness checks at close that the monitor
 * called nothing but the read-only methods, and remembers every secret it handed out for the
 * leak scan.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import { buildMonitor, type Monitor } from '../../src/app.js';
import { sleep, type Clock } from '../../src/b24/clock.js';
import { startHttpServer, type MonitorServer } from '../../src/http/server.js';
import { formatProblems, loadConfig } from '../../src/config/load.js';
import { SimServer, type SimPortal, type SimPortalOptions } from '../../src/sim/index.js';
import { VERSION } from '../../src/runtime/version.js';
import { captureLogger, type CapturedLogger } from './logs.js';
import { parsePromText, type Sample } from './promText.js';

/** What the monitor may call, and nothing else. */
export const READ_ONLY = new Set(['event.offline.list', 'event.get', 'feature.get', 'batch']);

/** Every secret value any harness handed to a monitor, or that the monitor obtained. */
export const issuedSecrets = new Set<string>();

export interface HarnessOptions {
  readonly portal?: SimPortalOptions;
  /** Extra configuration variables (MONITOR_STRATEGY, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Give the monitor only a refresh token (its first call refreshes). @default false */
  readonly refreshOnly?: boolean;
  /** Serve /metrics. @default true */
  readonly http?: boolean;
  /** Waits of the REST client (backoff, bucket). @default the system clock */
  readonly clock?: Clock;
}

/** Real time, but every wait of the client shortened 100 times: retries without slow tests. */
export const fastClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms / 100, signal),
};

export interface Harness {
  readonly sim: SimServer;
  readonly portal: SimPortal;
  readonly monitor: Monitor;
  readonly log: CapturedLogger;
  readonly tokenFile: string;
  readonly env: Record<string, string>;
  readonly server: MonitorServer | null;
  scrape(): Promise<Sample[]>;
  /** Builds a second monitor on the same config (a restart). */
  restart(): Promise<Monitor>;
  close(): Promise<void>;
}

/** A monitor built as the CLI builds it: the real configuration loader, then buildMonitor. */
export function monitorFromEnv(
  env: Readonly<Record<string, string>>,
  deps: Parameters<typeof buildMonitor>[1],
): Monitor {
  const loaded = loadConfig({ env });
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems));
  return buildMonitor(loaded.config, deps);
}

/**
 * A monitor of many portals of one application, built from a config file (0600, in `dir`):
 * `top` settings, the first portal's client and the simulated OAuth server as defaults (plus
 * `defaults`), then one line a portal. Close the dispatcher after the monitor.
 */
export async function startFleetMonitor(
  dir: string,
  fleet: {
    sim: SimServer;
    portals: readonly SimPortal[];
    entries: readonly string[];
    top?: readonly string[];
    defaults?: readonly string[];
  },
  logger: Logger,
): Promise<{ monitor: Monitor; dispatcher: Agent }> {
  const first = fleet.portals[0];
  if (first === undefined) throw new Error('no portal');
  issuedSecrets.add(first.clientSecret);
  const lines = [
    ...(fleet.top ?? []),
    'defaults:',
    `  clientId: "${first.clientId}"`,
    `  clientSecret: "${first.clientSecret}"`,
    `  oauthUrl: "${fleet.sim.oauthUrl}"`,
    ...(fleet.defaults ?? []),
    'portals:',
    ...fleet.entries,
    '',
  ];
  const file = join(dir, 'monitor.yaml');
  await writeFile(file, lines.join('\n'), { mode: 0o600 });
  const dispatcher = new Agent({ keepAliveTimeout: 10 });
  return { monitor: monitorFromEnv({ MONITOR_CONFIG: file }, { logger, dispatcher }), dispatcher };
}

/** The monitor's HTTP endpoints on a free loopback port. */
export async function serveMonitor(monitor: Monitor, logger: Logger): Promise<MonitorServer> {
  return startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics: monitor.metrics,
    pollers: monitor.pollers,
    logger,
    version: VERSION,
  });
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const sim = await SimServer.start();
  const portal = sim.addPortal('portal', { rateLimit: null, ...options.portal });
  const dir = await mkdtemp(join(tmpdir(), 'b24-harness-'));
  const tokenFile = join(dir, 'tokens.json');
  const seed = portal.authorize('monitor');
  const env: Record<string, string> = {
    B24_PORTAL_URL: portal.restUrl,
    B24_PORTAL_NAME: 'portal',
    B24_CLIENT_ID: portal.clientId,
    B24_CLIENT_SECRET: portal.clientSecret,
    B24_REFRESH_TOKEN: seed.refreshToken,
    ...(options.refreshOnly === true ? {} : { B24_ACCESS_TOKEN: seed.accessToken }),
    B24_OAUTH_URL: sim.oauthUrl,
    B24_TOKEN_FILE: tokenFile,
    MONITOR_LISTEN: '127.0.0.1:0',
    MONITOR_RATE_LIMIT_CAPACITY: '1000',
    MONITOR_RATE_LIMIT_PER_SECOND: '1000',
    ...options.env,
  };
  for (const value of [portal.clientSecret, seed.refreshToken, seed.accessToken])
    issuedSecrets.add(value);
  const log = captureLogger();
  const dispatcher = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
  const monitors: Monitor[] = [];
  const build = (): Monitor => {
    const monitor = monitorFromEnv(env, { logger: log.logger, dispatcher, clock: options.clock });
    monitors.push(monitor);
    return monitor;
  };
  const monitor = build();
  const server = options.http === false ? null : await serveMonitor(monitor, log.logger);

  return {
    sim,
    portal,
    monitor,
    log,
    tokenFile,
    env,
    server,
    async scrape() {
      if (server === null) throw new Error('harness started without http');
      const response = await fetch(`${server.url}/metrics`);
      return parsePromText(await response.text());
    },
    async restart() {
      return build();
    },
    async close() {
      await rememberTokenFile(tokenFile);
      const called = new Set(portal.journal.methodsBy('monitor'));
      await server?.close();
      for (const m of monitors) await m.close();
      await dispatcher.close();
      await sim.close();
      await rm(dir, { recursive: true, force: true });
      const forbidden = [...called].filter((method) => !READ_ONLY.has(method));
      if (forbidden.length > 0)
        throw new Error(`The monitor called mutating methods: ${forbidden.join(', ')}`);
    },
  };
}

async function rememberTokenFile(path: string): Promise<void> {
  try {
    const stored = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    for (const key of ['accessToken', 'refreshToken']) {
      const value = stored[key];
      if (typeof value === 'string') issuedSecrets.add(value);
    }
  } catch {
    // no token file written in this test
  }
}
