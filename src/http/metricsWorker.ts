/**
 * The thread that owns the monitor's public HTTP socket (started by server.ts).
 *
 * Why a thread: a shard of 2,500 portals keeps its main event loop busy with polls, their
 * garbage collection (100–300 ms a second at times) and renders, and a scrape that had to wait
 * for that loop to accept it, run the handler and write the body took over a second at p99
 * (bench/README.md, "10,000 portals over 4 shards"). A worker thread has its own event loop
 * and V8 heap: the main isolate's collections do not stop it, and, asleep until a request
 * comes, it is scheduled at once. Node cannot hand a socket to a thread, so this thread listens.
 *
 * What it answers itself: `GET`/`HEAD /metrics` with gzip accepted, authorized, of a large
 * exposition (the main thread pushes each gzip body of one after its render), with the
 * ExpositionCache's own policy: the newest body if its render started at most `maxStaleMs`
 * before the scrape; else the render under way if that one did (the scrape waits for its
 * body); else the main thread renders one for this scrape (a message; the body comes back
 * like the others). Either way this thread writes the answer: the main loop only renders.
 * It reports each scrape it answered from a held body, and the main thread plans its renders
 * ahead from those times. Everything else (a small exposition, which must be exactly fresh;
 * a plain body; a format it holds nothing of yet; 401s; /healthz, /readyz, the status pages,
 * 404, 405) is passed as it came to the main thread's own server on loopback, one connection
 * per request, and its answer streamed back with backpressure.
 *
 * How it is loaded: from source text (`metricsWorkerSource`), not a file, so that it runs the
 * same from src (tsx, vitest), from dist and from a one-file bundle of the CLI. So this
 * function and the helpers passed to it must not use anything from their module's scope: only
 * the `load`ed Node modules, their parameters and `workerData`.
 */
import type * as NodeCrypto from 'node:crypto';
import type * as NodeHttp from 'node:http';
import type * as NodeNet from 'node:net';
import type * as NodeStream from 'node:stream';
import type * as NodeStreamPromises from 'node:stream/promises';
import type * as NodeWorkerThreads from 'node:worker_threads';
import type { HttpAuthConfig } from '../config/types.js';
import { authorizes, type SecretCompare } from './auth.js';
import { acceptsGzip, scraperOf, wantsOpenMetrics } from './negotiate.js';

/** The limits of server.ts's HttpLimits, repeated here as plain data for the thread. */
interface WorkerLimits {
  readonly idleTimeoutMs: number;
  readonly maxConnections: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

export interface MetricsWorkerData {
  readonly host: string;
  readonly port: number;
  readonly limits: WorkerLimits;
  /** The main thread's own server, on loopback. */
  readonly upstreamPort: number;
  readonly auth: HttpAuthConfig | undefined;
  readonly contentTypes: { readonly text: string; readonly openMetrics: string };
  readonly maxStaleMs: number;
  readonly staleAboveBytes: number;
  readonly chunkBytes: number;
}

export type ToMetricsWorker =
  | {
      readonly kind: 'body';
      readonly openMetrics: boolean;
      readonly startedAt: number;
      readonly plainBytes: number;
      readonly gzip: Uint8Array;
    }
  /** A gzip render of `openMetrics` started (`startedAt`) or ended (with a body or not). */
  | {
      readonly kind: 'gzip-start' | 'gzip-end';
      readonly openMetrics: boolean;
      readonly startedAt: number;
    }
  /** The render asked for by `render` `id` is done (or failed): its body, if any, came before. */
  | { readonly kind: 'rendered'; readonly id: number }
  /** What its connections hold: answered with `sockets`. */
  | { readonly kind: 'sockets' }
  | { readonly kind: 'close' };

/** A listen error's fields, to rebuild it on the main thread with the same message and code. */
interface ListenErrorFields {
  readonly message: string;
  readonly code?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly address?: string;
  readonly port?: number;
}

export type FromMetricsWorker =
  | {
      readonly kind: 'listening';
      readonly address: string;
      readonly family: string;
      readonly port: number;
    }
  | { readonly kind: 'listen-error'; readonly error: ListenErrorFields }
  /** `scraper`: negotiate.ts's scraperOf of the client, for ExpositionCache's plans. */
  | {
      readonly kind: 'scraped';
      readonly openMetrics: boolean;
      readonly at: number;
      readonly scraper: string;
    }
  /** A scrape found no body recent enough and no render under way: the main thread renders. */
  | {
      readonly kind: 'render';
      readonly id: number;
      readonly openMetrics: boolean;
      readonly scraper: string;
    }
  /**
   * Each open connection: bytes written to it (what the kernel took plus what waits here),
   * and of those the bytes still waiting in this thread for the client to read: what a client
   * that never reads costs, seen from outside the thread (tests).
   */
  | {
      readonly kind: 'sockets';
      readonly sockets: readonly { bytesWritten: number; writableLength: number }[];
    }
  | { readonly kind: 'closed' };

interface Helpers {
  readonly authorizes: typeof authorizes;
  readonly acceptsGzip: typeof acceptsGzip;
  readonly wantsOpenMetrics: typeof wantsOpenMetrics;
  readonly scraperOf: typeof scraperOf;
}

type Load = (id: string) => unknown;

/** The thread's whole program; see the file comment for why it imports nothing. */
function metricsWorker(load: Load, helpers: Helpers): void {
  const http = load('node:http') as typeof NodeHttp;
  const { parentPort, workerData } = load('node:worker_threads') as typeof NodeWorkerThreads;
  const { Readable } = load('node:stream') as typeof NodeStream;
  const { pipeline } = load('node:stream/promises') as typeof NodeStreamPromises;
  const { createHash, timingSafeEqual } = load('node:crypto') as typeof NodeCrypto;
  const data = workerData as MetricsWorkerData;
  const port = parentPort!;
  const crypto: SecretCompare = {
    sha256: (text) => createHash('sha256').update(text).digest(),
    equal: timingSafeEqual,
  };
  /** Per format, the newest gzip body pushed: bodies only get replaced by later renders. */
  const held = new Map<boolean, { startedAt: number; plainBytes: number; gzip: Buffer }>();
  /** Per format, when the newest gzip render under way on the main thread started. */
  const rendering = new Map<boolean, number>();
  /** Per format, the scrapes waiting for a render (its start): each looks again when it ends. */
  const waiting = new Map<boolean, { startedAt: number; retry: () => void }[]>();
  /** Scrapes waiting for a render they asked for, by request id. */
  const asked = new Map<number, () => void>();
  let lastId = 0;
  const post = (message: FromMetricsWorker): void => port.postMessage(message);
  const ignore = (): void => undefined;
  const scraper = (request: NodeHttp.IncomingMessage): string =>
    helpers.scraperOf(request.socket.remoteAddress, request.headers['user-agent']);

  const hopByHop = ['connection', 'keep-alive', 'transfer-encoding'];
  const forward = (request: NodeHttp.IncomingMessage, response: NodeHttp.ServerResponse): void => {
    const headers = { ...request.headers };
    for (const name of hopByHop) delete headers[name];
    // the client's address, for the main thread's scraperOf (it sees only this thread's)
    headers['x-forwarded-for'] = request.socket.remoteAddress ?? '';
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port: data.upstreamPort,
        method: request.method,
        path: request.url,
        headers,
        agent: false,
      },
      (answer) => {
        const back = { ...answer.headers };
        for (const name of hopByHop) delete back[name];
        response.writeHead(answer.statusCode ?? 502, back);
        pipeline(answer, response).catch(ignore);
      },
    );
    upstream.on('error', () => {
      if (response.headersSent) response.destroy();
      else {
        response.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
        response.end('Bad gateway\n');
      }
    });
    // a client gone stops the main thread's answer too
    response.on('close', () => upstream.destroy());
    pipeline(request, upstream).catch(ignore);
  };

  /**
   * What to do with a request that arrived at `now`: answer it from a held body, wait for a
   * render, or pass it on. ExpositionCache's rule for a large exposition: the newest body if
   * its render started at most `maxStaleMs` before the scrape, else the render under way if
   * that one did (the scrape waits for it), else a render of its own, which the main thread
   * makes and hands over like the others: the worker still writes the answer.
   */
  const decide = (
    request: NodeHttp.IncomingMessage,
    now: number,
  ):
    | { readonly serve: Buffer; readonly openMetrics: boolean }
    | { readonly wait: number; readonly openMetrics: boolean }
    | { readonly render: true; readonly openMetrics: boolean }
    | undefined => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
    if ((request.url ?? '/').split('?')[0] !== '/metrics') return undefined;
    if (!helpers.acceptsGzip(request.headers['accept-encoding'])) return undefined;
    const openMetrics = helpers.wantsOpenMetrics(request.headers.accept);
    const body = held.get(openMetrics);
    // a small exposition is exactly fresh: only the main thread knows what changed
    if (body === undefined || body.plainBytes <= data.staleAboveBytes) return undefined;
    // the main thread answers the 401, with its challenge
    if (!helpers.authorizes(request.headers.authorization ?? '', data.auth, crypto))
      return undefined;
    if (now - body.startedAt <= data.maxStaleMs) return { serve: body.gzip, openMetrics };
    const started = rendering.get(openMetrics);
    if (started !== undefined && started > body.startedAt && now - started <= data.maxStaleMs)
      return { wait: started, openMetrics };
    return { render: true, openMetrics };
  };

  /**
   * `again`: this scrape already waited (for a render under way, or one it asked for); if
   * that gave no body to answer with (the exposition turned small, the render failed), the
   * main thread answers it.
   */
  const answer = (
    request: NodeHttp.IncomingMessage,
    response: NodeHttp.ServerResponse,
    now = Date.now(),
    again: 'waited' | 'asked' | null = null,
  ): void => {
    const found = decide(request, now);
    if (found === undefined || (again !== null && !('serve' in found))) {
      forward(request, response);
      return;
    }
    if ('wait' in found) {
      const list = waiting.get(found.openMetrics) ?? [];
      waiting.set(found.openMetrics, list);
      list.push({ startedAt: found.wait, retry: () => answer(request, response, now, 'waited') });
      return;
    }
    if ('render' in found) {
      const id = ++lastId;
      asked.set(id, () => answer(request, response, now, 'asked'));
      post({ kind: 'render', id, openMetrics: found.openMetrics, scraper: scraper(request) });
      return;
    }
    // the main thread records a scrape that asked it for a render itself
    if (again !== 'asked')
      post({ kind: 'scraped', openMetrics: found.openMetrics, at: now, scraper: scraper(request) });
    response.writeHead(200, {
      'content-type': found.openMetrics ? data.contentTypes.openMetrics : data.contentTypes.text,
      'content-length': String(found.serve.length),
      'cache-control': 'no-store',
      vary: 'Accept-Encoding',
      'content-encoding': 'gzip',
    });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    // a slice at a time, each after the client took the last (views, not copies)
    const body = found.serve;
    const slices = function* (): Generator<Buffer> {
      for (let i = 0; i < body.length; i += data.chunkBytes)
        yield body.subarray(i, i + data.chunkBytes);
    };
    pipeline(Readable.from(slices(), { objectMode: false }), response).catch(ignore);
  };

  const server = http.createServer(
    {
      headersTimeout: data.limits.headersTimeoutMs,
      requestTimeout: data.limits.requestTimeoutMs,
      keepAliveTimeout: data.limits.idleTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, data.limits.headersTimeoutMs),
    },
    (request, response) => {
      try {
        answer(request, response);
      } catch {
        // whatever this one request did wrong, the thread (and the socket it owns) goes on
        response.destroy();
      }
    },
  );
  server.setTimeout(data.limits.idleTimeoutMs, (socket: NodeNet.Socket) => socket.destroy());
  server.maxConnections = data.limits.maxConnections;
  const sockets = new Set<NodeNet.Socket>();
  server.on('connection', (socket: NodeNet.Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  const refused = (error: NodeJS.ErrnoException & { address?: string; port?: number }): void => {
    post({
      kind: 'listen-error',
      error: {
        message: error.message,
        ...(error.code === undefined ? {} : { code: error.code }),
        ...(error.errno === undefined ? {} : { errno: error.errno }),
        ...(error.syscall === undefined ? {} : { syscall: error.syscall }),
        ...(error.address === undefined ? {} : { address: error.address }),
        ...(error.port === undefined ? {} : { port: error.port }),
      },
    });
    port.close();
  };
  server.once('error', refused);
  server.listen(data.port, data.host, () => {
    server.off('error', refused);
    // an accept that fails (EMFILE...) refuses that connection; the server goes on
    server.on('error', ignore);
    const address = server.address() as NodeNet.AddressInfo;
    post({
      kind: 'listening',
      address: address.address,
      family: address.family,
      port: address.port,
    });
  });

  port.on('message', (message: ToMetricsWorker) => {
    if (message.kind === 'body') {
      const current = held.get(message.openMetrics);
      if (current !== undefined && current.startedAt > message.startedAt) return;
      const { gzip } = message;
      held.set(message.openMetrics, {
        startedAt: message.startedAt,
        plainBytes: message.plainBytes,
        gzip: Buffer.from(gzip.buffer, gzip.byteOffset, gzip.byteLength),
      });
      return;
    }
    if (message.kind === 'rendered') {
      const retry = asked.get(message.id);
      asked.delete(message.id);
      retry?.();
      return;
    }
    if (message.kind === 'gzip-start') {
      if (message.startedAt > (rendering.get(message.openMetrics) ?? -Infinity))
        rendering.set(message.openMetrics, message.startedAt);
      return;
    }
    if (message.kind === 'gzip-end') {
      if (rendering.get(message.openMetrics) === message.startedAt)
        rendering.delete(message.openMetrics);
      // its body (if large) came just before: each scrape that waited for it looks again
      const list = waiting.get(message.openMetrics) ?? [];
      const done = list.filter((w) => w.startedAt <= message.startedAt);
      waiting.set(
        message.openMetrics,
        list.filter((w) => w.startedAt > message.startedAt),
      );
      for (const { retry } of done) retry();
      return;
    }
    if (message.kind === 'sockets') {
      const state = [...sockets].map((socket) => ({
        bytesWritten: socket.bytesWritten,
        writableLength: socket.writableLength,
      }));
      post({ kind: 'sockets', sockets: state });
      return;
    }
    server.close(() => {
      post({ kind: 'closed' });
      port.close();
    });
    server.closeAllConnections();
  });
}

/**
 * The worker's program as source text for `new Worker(source, { eval: true })`. `__name` is
 * what tsx's compiler wraps named functions in (keepNames); a no-op is all it needs.
 */
export function metricsWorkerSource(): string {
  return [
    'const __name = (target) => target;',
    `(${String(metricsWorker)})(require, {`,
    `  authorizes: ${String(authorizes)},`,
    `  acceptsGzip: ${String(acceptsGzip)},`,
    `  wantsOpenMetrics: ${String(wantsOpenMetrics)},`,
    `  scraperOf: ${String(scraperOf)},`,
    '});',
  ].join('\n');
}
