/**
 * The monitor's HTTP server: `/metrics` (Prometheus text, or OpenMetrics when asked),
 * `/healthz`, `/readyz`, `/`. A scrape only renders what the background polls left.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { HttpAuthConfig } from '../config/types.js';
import type { MonitorMetrics } from '../metrics/definitions.js';
import type { PortalPoller } from '../poll/poller.js';
import { MetricsRenderer } from '../metrics/render.js';
import { challenge, isAuthorized } from './auth.js';
import { isStatusPath, statusPageFor } from './statusPage.js';

export interface HttpServerOptions {
  readonly metrics: MonitorMetrics;
  readonly pollers: readonly PortalPoller[];
  readonly logger: Logger;
  readonly version: string;
  readonly auth?: HttpAuthConfig | undefined;
}

export interface MonitorServer {
  readonly server: Server;
  /** `http://host:port` once listening. */
  readonly url: string;
  close(): Promise<void>;
}

function send(
  response: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  response.end(body);
}

function readiness(pollers: readonly PortalPoller[]): {
  ready: boolean;
  portals: { portal: string; reason: string }[];
} {
  const now = Date.now();
  const notReady: { portal: string; reason: string }[] = [];
  for (const poller of pollers) {
    if (poller.lastSuccess === null)
      notReady.push({ portal: poller.name, reason: 'no successful poll yet' });
    else if (poller.isStale(now))
      notReady.push({ portal: poller.name, reason: 'last successful poll is stale' });
  }
  return { ready: notReady.length === 0, portals: notReady.slice(0, 100) };
}

function wantsOpenMetrics(request: IncomingMessage): boolean {
  return (request.headers.accept ?? '').includes('application/openmetrics-text');
}

export function createHttpHandler(options: HttpServerOptions) {
  const { metrics, pollers, auth, logger, version } = options;
  const renderer = new MetricsRenderer(metrics);
  return async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(response, 405, 'text/plain; charset=utf-8', 'Method not allowed\n', {
        allow: 'GET, HEAD',
      });
      return;
    }
    if (path === '/healthz') {
      send(response, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    }
    if (path === '/readyz') {
      const state = readiness(pollers);
      send(response, state.ready ? 200 : 503, 'application/json', `${JSON.stringify(state)}\n`);
      return;
    }
    if (path !== '/metrics' && !isStatusPath(path ?? '')) {
      send(response, 404, 'text/plain; charset=utf-8', 'Not found\n');
      return;
    }
    if (!isAuthorized(request, auth)) {
      send(response, 401, 'text/plain; charset=utf-8', 'Unauthorized\n', {
        'www-authenticate': challenge(auth),
      });
      return;
    }
    if (path !== '/metrics') {
      const page = statusPageFor(request.url ?? '/', pollers, version);
      send(response, page.status, 'text/html; charset=utf-8', page.body);
      return;
    }
    const now = Date.now();
    for (const poller of pollers) poller.expireStale(now);
    try {
      const openMetrics = wantsOpenMetrics(request);
      send(response, 200, renderer.contentType(openMetrics), await renderer.render(openMetrics));
    } catch (error) {
      logger.error({ err: error }, 'Rendering metrics failed');
      send(response, 500, 'text/plain; charset=utf-8', 'Rendering metrics failed\n');
    }
  };
}

export async function startHttpServer(
  options: HttpServerOptions & { readonly host: string; readonly port: number },
): Promise<MonitorServer> {
  const handler = createHttpHandler(options);
  const server = createServer((request, response) => {
    void handler(request, response);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
