/**
 * Keeps the metrics worker (metricsWorker.ts), and so the public socket, alive. The thread may
 * die while the process goes on: an uncaught exception in it, its heap limit, a `terminate()`.
 * Without it the monitor has no socket at all, Prometheus sees the target down and nothing
 * restarts the process (its liveness probe, `/healthz`, goes through this very thread, but a
 * plain `docker run` has none). So a thread that stops unasked is started again on the same
 * address, limits and credentials, after a backoff (100 ms doubling to 30 s, from 100 ms again
 * once a thread has served for a minute), with a log line for each crash and restart; a
 * re-listen that fails (another process took the port meanwhile) is logged as such and tried
 * again on the same backoff. `close()` stops it for good.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { HttpAuthConfig } from '../config/types.js';
import { SecretRegistry } from '../runtime/secrets.js';
import {
  metricsWorkerSource,
  type FromMetricsWorker,
  type MetricsWorkerData,
  type ToMetricsWorker,
} from './metricsWorker.js';

type Listening = FromMetricsWorker & { kind: 'listening' };

/** When to start a thread again after crashes; see the file comment. */
export interface RestartBackoff {
  /** @default 100 */
  readonly firstMs: number;
  /** @default 30000 */
  readonly maxMs: number;
  /** A thread that served this long counts as healthy: the next crash waits `firstMs` again. @default 60000 */
  readonly healthyAfterMs: number;
}

const DEFAULT_BACKOFF: RestartBackoff = { firstMs: 100, maxMs: 30_000, healthyAfterMs: 60_000 };

/** The wait before restart `attempt` (0-based) of a row of crashes. */
export function restartDelayMs(attempt: number, backoff: RestartBackoff = DEFAULT_BACKOFF): number {
  return Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.min(attempt, 30));
}

/**
 * A scrubber of every credential of `auth` (and the header value made of them): the thread
 * holds them, so any text that comes out of it may carry one. The process's logger scrubs
 * config secrets too, but this module must not rely on what logger it is given.
 */
function credentialScrubber(auth: HttpAuthConfig | undefined): SecretRegistry {
  const registry = new SecretRegistry();
  registry.add(auth?.bearerToken);
  if (auth?.basic !== undefined) {
    const { username, password } = auth.basic;
    registry.add(Buffer.from(`${username}:${password}`).toString('base64'));
    registry.add(password);
  }
  return registry;
}

/**
 * A thread's error for the log's `err` field: of the same class (pino logs its name as
 * `type`), with message and stack free of credentials, and only its `code` of the other fields.
 */
export function safeError(error: unknown, auth: HttpAuthConfig | undefined): Error {
  const scrubber = credentialScrubber(auth);
  const clean = (text: string) => scrubber.scrub(text);
  if (!(error instanceof Error)) return new Error(clean(String(error)));
  const safe = Object.create(Object.getPrototypeOf(error) as object) as Error & { code?: string };
  const code = (error as NodeJS.ErrnoException).code;
  Object.defineProperty(safe, 'message', { value: clean(error.message), writable: true });
  Object.defineProperty(safe, 'stack', { value: clean(error.stack ?? ''), writable: true });
  if (typeof code === 'string') safe.code = code;
  return safe;
}

/** Starts one thread; resolves once it listens, or rejects with its listen error. */
async function startThread(
  data: MetricsWorkerData,
): Promise<{ worker: Worker; listening: Listening }> {
  // execArgv []: not the main thread's --import hooks (tsx, a bench probe); the source needs none
  const worker = new Worker(metricsWorkerSource(), {
    eval: true,
    execArgv: [],
    workerData: data,
  });
  const handlers: { message?: (m: FromMetricsWorker) => void; error?: (e: Error) => void } = {};
  const onExit = (code: number) =>
    handlers.error?.(new Error(`The metrics worker exited (code ${code}) before listening`));
  // rejects with the thread's error if it fails (or stops) before its first message
  const first = await new Promise<FromMetricsWorker>((resolve, reject) => {
    handlers.message = resolve;
    handlers.error = reject;
    worker.once('message', resolve).once('error', reject).once('exit', onExit);
  }).finally(() => {
    worker.off('message', handlers.message!).off('error', handlers.error!).off('exit', onExit);
  });
  if (first.kind === 'listening') return { worker, listening: first };
  // (an 'error' with no listener would be thrown on this thread)
  await worker.on('error', () => undefined).terminate();
  if (first.kind === 'listen-error') {
    const { message, ...fields } = first.error;
    throw Object.assign(new Error(message), fields);
  }
  throw new Error(`The metrics worker answered ${first.kind} before listening`);
}

export interface SupervisorOptions {
  readonly data: MetricsWorkerData;
  readonly logger: Logger;
  /** Each message of the thread now running, and how to answer that very thread. */
  readonly onMessage: (
    message: FromMetricsWorker,
    reply: (message: ToMetricsWorker) => void,
  ) => void;
  /** After each thread started again (the server counts them in a metric). */
  readonly onRestart?: () => void;
  readonly backoff?: Partial<RestartBackoff>;
}

export class MetricsWorkerSupervisor {
  readonly #options: SupervisorOptions;
  readonly #backoff: RestartBackoff;
  /** Where every thread after the first listens: the first one's port, also when asked for 0. */
  readonly #data: MetricsWorkerData;
  readonly listening: Listening;
  #worker: Worker | undefined;
  #startedAt = 0;
  /** Restarts in the current row of crashes, for the backoff. */
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #starting: Promise<void> | undefined;
  #closing = false;
  /** Threads started again since the first. */
  #restarts = 0;

  private constructor(options: SupervisorOptions, worker: Worker, listening: Listening) {
    this.#options = options;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#data = { ...options.data, port: listening.port };
    this.listening = listening;
    this.#adopt(worker);
  }

  /** Starts the first thread; its listen error is thrown as a plain server's would be. */
  static async start(options: SupervisorOptions): Promise<MetricsWorkerSupervisor> {
    const { worker, listening } = await startThread(options.data);
    return new MetricsWorkerSupervisor(options, worker, listening);
  }

  /** The thread running now; undefined between a crash and its restart. For tests. */
  get worker(): Worker | undefined {
    return this.#worker;
  }

  /**
   * To the thread running now; dropped while none runs. A thread started again holds no body
   * until the next render pushes one: until then it passes scrapes to the main thread.
   */
  postMessage(message: ToMetricsWorker, transfer?: readonly ArrayBuffer[]): void {
    this.#worker?.postMessage(message, transfer);
  }

  #adopt(worker: Worker): void {
    this.#worker = worker;
    this.#startedAt = Date.now();
    const { logger } = this.#options;
    const data = this.#data;
    const reply = (message: ToMetricsWorker) => worker.postMessage(message);
    worker.on('message', (message: FromMetricsWorker) => this.#options.onMessage(message, reply));
    worker.on('error', (error) =>
      logger.error({ err: safeError(error, data.auth) }, 'The metrics worker failed'),
    );
    worker.once('exit', (exitCode) => {
      if (this.#worker === worker) this.#worker = undefined;
      if (this.#closing) return;
      const ranMs = Date.now() - this.#startedAt;
      if (ranMs >= this.#backoff.healthyAfterMs) this.#attempt = 0;
      const restartInMs = this.#retry();
      logger.error(
        { exitCode, ranMs, restartInMs, host: data.host, port: data.port },
        'The metrics worker stopped: /metrics, /healthz and / do not answer until it is restarted',
      );
    });
  }

  /** Plans the next start; answers its delay. */
  #retry(): number {
    const delay = restartDelayMs(this.#attempt++, this.#backoff);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#starting = this.#restart().finally(() => (this.#starting = undefined));
    }, delay);
    return delay;
  }

  async #restart(): Promise<void> {
    const { logger } = this.#options;
    const data = this.#data;
    try {
      const { worker } = await startThread(data);
      if (this.#closing) {
        await worker.on('error', () => undefined).terminate();
        return;
      }
      this.#restarts++;
      this.#adopt(worker);
      logger.info(
        { host: data.host, port: data.port, restarts: this.#restarts },
        'The metrics worker restarted',
      );
      this.#options.onRestart?.();
    } catch (error) {
      if (this.#closing) return;
      const retryInMs = this.#retry();
      const { code } = error as NodeJS.ErrnoException;
      logger.error(
        {
          err: safeError(error, data.auth),
          host: data.host,
          port: data.port,
          retryInMs,
          ...(code === 'EADDRINUSE'
            ? {
                hint: `another process listens on ${data.host}:${data.port}: stop it, or restart the monitor on another address (MONITOR_LISTEN)`,
              }
            : {}),
        },
        'The metrics worker could not listen again: retrying',
      );
    }
  }

  /** Stops the thread for good: no restart after this; resolves once its socket is closed. */
  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#timer);
    await this.#starting;
    const worker = this.#worker;
    if (worker === undefined) return;
    // not events.once: that would reject on an 'error' of the thread
    const exited = new Promise<true>((resolve) => worker.once('exit', () => resolve(true)));
    worker.postMessage({ kind: 'close' } satisfies ToMetricsWorker);
    const stopped = await Promise.race([
      exited,
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 5_000).unref()),
    ]);
    if (!stopped) await worker.terminate();
  }
}
