/**
 * The monitor's HTTP server: `/metrics` (Prometheus text, or OpenMetrics when asked),
 * `/healthz`, `/readyz`, `/`. A scrape only renders what the background polls left.
 *
 * Two servers: a worker thread owns the public socket (metricsWorker.ts) and answers the
 * gzip scrapes of a large exposition itself, from bodies this thread renders and pushes to it
 * (asked for one when none is recent enough), so that they do not wait for this thread's
 * event loop to accept them and write them; every other request it passes to the handler
 * below, which listens on a loopback port of its own. A thread that stops unasked is started
 * again on the same address (workerSupervisor.ts).
 *
 * It runs for months next to clients it does not control, so every connection is bounded:
 * idle ones are closed, their number is capped, a request must arrive whole in time, and
 * `/metrics` is streamed with backpressure (gzip when the scraper accepts it, as Prometheus
 * does) from the body ExpositionCache keeps, so a client that asks for 15 MB and never reads
 * holds a socket buffer and a reference, not a copy.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { HttpAuthConfig } from '../config/types.js';
import type { MonitorMetrics } from '../metrics/definitions.js';
import type { PortalPoller } from '../poll/poller.js';
import { ExpositionCache, type LargeGzipBody } from '../metrics/exposition.js';
import { MetricsRenderer } from '../metrics/render.js';
import { challenge, isAuthorized } from './auth.js';
import type { FromMetricsWorker, ToMetricsWorker } from './metricsWorker.js';
import { acceptsGzip, scraperOf, wantsOpenMetrics } from './negotiate.js';
import { isStatusPath, statusPageFor } from './statusPage.js';
import { MetricsWorkerSupervisor } from './workerSupervisor.js';

export interface HttpServerOptions {
  readonly metrics: MonitorMetrics;
  readonly pollers: readonly PortalPoller[];
  readonly logger: Logger;
  readonly version: string;
  readonly auth?: HttpAuthConfig | undefined;
}

/** Limits of the server's connections. */
export interface HttpLimits {
  /** A connection with no traffic (idle keep-alive, or a client that stopped reading) is closed. @default 60000 */
  readonly idleTimeoutMs: number;
  /** Connections open at once; more are refused until some close. @default 512 */
  readonly maxConnections: number;
  /** A request's headers must arrive within this. @default 10000 */
  readonly headersTimeoutMs: number;
  /** A whole request must arrive within this. @default 30000 */
  readonly requestTimeoutMs: number;
}

const DEFAULT_HTTP_LIMITS: HttpLimits = {
  idleTimeoutMs: 60_000,
  maxConnections: 512,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
};

/** Slices of the exposition written at a time: what a slow reader can hold beyond its socket. */
const CHUNK_BYTES = 64 * 1024;

export interface MonitorServer {
  /**
   * The handler's own server, on loopback: what the worker passes on (not the scrapes it
   * answers itself) arrives here.
   */
  readonly server: Server;
  /** `http://host:port` once listening. */
  readonly url: string;
  /**
   * The thread that owns the public socket now (undefined between a crash and its restart):
   * for tests, which stop it to see it restarted.
   */
  readonly worker: () => Worker | undefined;
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

/** Before a scrape: the queue gauges of portals whose last success is too old go. */
function expireStale(pollers: readonly PortalPoller[]): void {
  const now = Date.now();
  for (const poller of pollers) poller.expireStale(now);
}

/** Views into `body`, not copies. */
function* slices(body: Buffer): Generator<Buffer> {
  for (let i = 0; i < body.length; i += CHUNK_BYTES) yield body.subarray(i, i + CHUNK_BYTES);
}

/**
 * Writes `body` (already gzip-compressed when `gzip`) a slice at a time, each after the
 * client took the last: `pipeline` waits for `drain`. A client gone half-way just ends the
 * stream.
 */
async function stream(
  request: IncomingMessage,
  response: ServerResponse,
  type: string,
  body: Buffer,
  gzip: boolean,
): Promise<void> {
  response.writeHead(200, {
    'content-type': type,
    'content-length': String(body.length),
    'cache-control': 'no-store',
    vary: 'Accept-Encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  try {
    await pipeline(Readable.from(slices(body), { objectMode: false }), response);
  } catch {
    // the client went away or the socket timed out: nothing to answer any more
  }
}

function createHttpHandler(options: HttpServerOptions, exposition: ExpositionCache) {
  const { pollers, auth, logger, version } = options;
  const renderer = exposition.renderer;
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
    expireStale(pollers);
    try {
      const openMetrics = wantsOpenMetrics(request.headers.accept);
      const gzip = acceptsGzip(request.headers['accept-encoding']);
      // the worker passes every request on with its client's address (x-forwarded-for)
      const forwarded = request.headers['x-forwarded-for'];
      const from = typeof forwarded === 'string' ? forwarded : request.socket.remoteAddress;
      const scraper = scraperOf(from, request.headers['user-agent']);
      const body = await exposition.body(openMetrics, gzip, scraper);
      await stream(request, response, renderer.contentType(openMetrics), body, gzip);
    } catch (error) {
      logger.error({ err: error }, 'Rendering metrics failed');
      send(response, 500, 'text/plain; charset=utf-8', 'Rendering metrics failed\n');
    }
  };
}

const WORKER_RESTARTS = 'b24_offline_http_worker_restarts_total';

/**
 * Threads that own the public socket started again after one stopped unasked: a crash and
 * restart between two scrapes shows nowhere else but in the log. One per registry (a
 * registry may outlive a server: tests start several on one).
 */
function workerRestarts(registry: Registry): Counter {
  const known = registry.getSingleMetric(WORKER_RESTARTS);
  if (known instanceof Counter) return known;
  return new Counter({
    name: WORKER_RESTARTS,
    help: 'Times the thread that owns the HTTP socket was started again after it stopped unasked',
    registers: [registry],
  });
}

/** Listens; the error of a refused address is thrown. */
async function listen(server: Server, port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startHttpServer(
  options: HttpServerOptions & {
    readonly host: string;
    readonly port: number;
    readonly limits?: Partial<HttpLimits> | undefined;
  },
): Promise<MonitorServer> {
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  // the worker, once started: bodies rendered before are not needed (it has none to answer from)
  const pushTo: { worker?: MetricsWorkerSupervisor } = {};
  const push = ({ openMetrics, startedAt, plainBytes, gzip }: LargeGzipBody): void => {
    // A copy (~800 KB for a shard) that the worker then owns: this thread's body may still
    // be written to clients here. Transferred, not copied again.
    const copy = new Uint8Array(gzip);
    const message: ToMetricsWorker = {
      kind: 'body',
      openMetrics,
      startedAt,
      plainBytes,
      gzip: copy,
    };
    pushTo.worker?.postMessage(message, [copy.buffer]);
  };
  // the newest large body of each format: a thread started again after a crash gets them at
  // once, rather than passing scrapes to this thread until the next render
  const newest = new Map<boolean, LargeGzipBody>();
  const exposition = new ExpositionCache(new MetricsRenderer(options.metrics), {
    onLargeGzip: (body) => {
      if ((newest.get(body.openMetrics)?.startedAt ?? -Infinity) <= body.startedAt)
        newest.set(body.openMetrics, body);
      push(body);
    },
    onGzipStart: (openMetrics, startedAt, made) => {
      const post = (kind: 'gzip-start' | 'gzip-end') =>
        pushTo.worker?.postMessage({ kind, openMetrics, startedAt } satisfies ToMetricsWorker);
      post('gzip-start');
      made.then(
        () => post('gzip-end'),
        () => post('gzip-end'),
      );
    },
  });
  // what Prometheus asks for: its first scrape of a large exposition finds a body ready
  exposition.renderAhead(true, true);
  const handler = createHttpHandler(options, exposition);
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      // how often the two timeouts above are checked
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    },
    (request, response) => {
      handler(request, response).catch((error: unknown) => {
        options.logger.error({ err: error }, 'Answering a request failed');
        response.destroy();
      });
    },
  );
  // Inactivity of any socket: one that never sends a request, or whose client stopped reading
  // an answer (its writes stall), is destroyed. Node's own default is never.
  server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
  server.maxConnections = limits.maxConnections;
  // no background render of /metrics after the server is gone
  server.on('close', () => exposition.close());
  // loopback only, port chosen by the system: reached through the worker, which applies the
  // same limits in front of it
  await listen(server, 0, '127.0.0.1');
  const restarts = workerRestarts(options.metrics.registry);
  // the messages of the thread running now; `reply` answers that very thread
  const onMessage = (message: FromMetricsWorker, reply: (answer: ToMetricsWorker) => void) => {
    if (message.kind !== 'scraped' && message.kind !== 'render') return;
    // what the handler does before a scrape it answers
    expireStale(options.pollers);
    if (message.kind === 'scraped') {
      // the body served was rendered before: this only plans the next renders
      exposition.scraped(message.openMetrics, message.at, message.scraper);
      return;
    }
    // a render for a scrape that found none recent enough: the body goes to the worker
    // (onLargeGzip) before this settles, and the worker writes the answer
    const rendered = () => reply({ kind: 'rendered', id: message.id } satisfies ToMetricsWorker);
    // (a failed render: the worker passes the scrape on, whose own render logs and answers 500)
    exposition.body(message.openMetrics, true, message.scraper).then(rendered, rendered);
  };
  let supervisor: MetricsWorkerSupervisor;
  try {
    supervisor = await MetricsWorkerSupervisor.start({
      data: {
        host: options.host,
        port: options.port,
        limits,
        upstreamPort: (server.address() as AddressInfo).port,
        auth: options.auth,
        contentTypes: {
          text: exposition.renderer.contentType(false),
          openMetrics: exposition.renderer.contentType(true),
        },
        maxStaleMs: exposition.maxStaleMs,
        staleAboveBytes: exposition.staleAboveBytes,
        chunkBytes: CHUNK_BYTES,
      },
      logger: options.logger,
      onRestart: () => {
        restarts.inc();
        for (const body of newest.values()) push(body);
      },
      onMessage,
    });
  } catch (error) {
    await new Promise((resolve) => server.close(resolve));
    throw error;
  }
  pushTo.worker = supervisor;
  const { address, family, port } = supervisor.listening;
  const host = family === 'IPv6' ? `[${address}]` : address;
  return {
    server,
    url: `http://${host}:${port}`,
    worker: () => supervisor.worker,
    close: async () => {
      // the public socket first (the worker closes its connections and exits), then this one
      await supervisor.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
