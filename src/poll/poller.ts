/**
 * Polls one portal: never two at once, each under a deadline, the outcome turned into metrics
 * and one JSON log line. Any error is classified by its `reason`; the queue gauges keep their
 * last good values until they are stale.
 */
import type { Logger } from 'pino';
import {
  AbortedError,
  MonitorError,
  TimeoutError,
  TokenStoreError,
  type FailureReason,
} from '../b24/errors.js';
import type { RestClient } from '../b24/types.js';
import type { PollStrategy } from '../config/types.js';
import type { PortalMetrics, Strategy } from '../metrics/portalMetrics.js';
import { countQueue } from './count.js';
import { EventNameBook } from './eventNames.js';
import { firstRequest, scanFrom, scanQueue } from './scan.js';
import { countsByStatus, type QueueSnapshot, type Status } from './snapshot.js';

/** After `OVERLOAD_LIMIT` (REST blocked by hand on the portal) polling pauses this long. */
export const OVERLOAD_PAUSE_MS = 15 * 60_000;

export interface PortalPollerOptions {
  readonly name: string;
  readonly client: RestClient;
  readonly metrics: PortalMetrics;
  /** A child logger that already carries `{ portal }`. */
  readonly logger: Logger;
  /** @default auto */
  readonly strategy?: PollStrategy;
  /** With `auto`: the largest queue that is scanned. @default 1000 */
  readonly scanMaxRows?: number;
  /** @default 25000 */
  readonly pollTimeoutMs?: number;
  /** @default 300000 */
  readonly staleAfterMs?: number;
  readonly authConnector?: string | undefined;
  /** Event names with series of their own; the rest count under `other`. @default 500 */
  readonly maxEventNames?: number | undefined;
  /** A name neither bound nor seen with rows this long is forgotten. @default 1 hour */
  readonly forgetEventNamesAfterMs?: number | undefined;
  /** @default Date.now */
  readonly now?: () => number;
}

export interface PollReport {
  readonly portal: string;
  readonly ok: boolean;
  /** Set when the poll did not run (another is in flight, or the portal is paused). */
  readonly skipped?: 'paused' | 'aborted';
  readonly startedAt: number;
  readonly durationMs: number;
  readonly requests: number;
  readonly strategy?: Strategy | undefined;
  readonly snapshot?: QueueSnapshot | undefined;
  readonly counts?: Record<Status, number> | undefined;
  readonly error?: MonitorError | undefined;
}

export class PortalPoller {
  readonly name: string;
  readonly #options: PortalPollerOptions;
  readonly #now: () => number;
  readonly #eventNames: EventNameBook;
  #running: Promise<PollReport> | null = null;
  #pausedUntil = 0;
  /** Depth seen by the last poll that got that far (auto strategy). */
  #lastDepth = 0;
  lastReport: PollReport | null = null;
  lastSuccess: PollReport | null = null;

  constructor(options: PortalPollerOptions) {
    this.name = options.name;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#eventNames = new EventNameBook({
      cap: options.maxEventNames ?? 500,
      forgetAfterMs: options.forgetEventNamesAfterMs,
    });
  }

  get staleAfterMs(): number {
    return this.#options.staleAfterMs ?? 300_000;
  }

  /** True when there is no successful poll, or the last one is older than the stale limit. */
  isStale(now = this.#now()): boolean {
    if (this.lastSuccess === null) return true;
    return now - (this.lastSuccess.startedAt + this.lastSuccess.durationMs) > this.staleAfterMs;
  }

  /** Removes the queue gauges once stale; called before each scrape and after each poll. */
  expireStale(now = this.#now()): void {
    if (this.isStale(now) && this.#options.metrics.removeQueueSeries()) {
      this.#options.logger.warn(
        { staleAfterMs: this.staleAfterMs },
        'Queue metrics removed: no successful poll within the stale limit',
      );
    }
  }

  /** Polls now, or joins the poll in flight: polls of one portal never overlap. */
  poll(signal?: AbortSignal): Promise<PollReport> {
    if (this.#running !== null) return this.#running;
    this.#running = this.#poll(signal).finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #poll(parent: AbortSignal | undefined): Promise<PollReport> {
    const { metrics, logger } = this.#options;
    const startedAt = this.#now();
    if (startedAt < this.#pausedUntil) {
      logger.debug(
        { pausedUntil: new Date(this.#pausedUntil).toISOString() },
        'Poll skipped: portal paused',
      );
      return {
        portal: this.name,
        ok: false,
        skipped: 'paused',
        startedAt,
        durationMs: 0,
        requests: 0,
      };
    }
    metrics.pollStarted();
    const requestsBefore = metrics.requestsSent;
    const timeoutMs = this.#options.pollTimeoutMs ?? 25_000;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = parent === undefined ? deadline : AbortSignal.any([parent, deadline]);
    let strategy: Strategy | undefined;
    const asked = new Set(this.#eventNames.known(startedAt));
    try {
      const collected = await this.#collect(
        asked,
        signal,
        startedAt + timeoutMs,
        Math.floor(startedAt / 1000),
        (used) => {
          strategy = used;
        },
      );
      const finishedAt = this.#now();
      const result = {
        ...collected,
        snapshot: this.#eventNames.fold(collected.snapshot, asked, finishedAt),
      };
      const report: PollReport = {
        portal: this.name,
        ok: true,
        startedAt,
        durationMs: finishedAt - startedAt,
        requests: metrics.requestsSent - requestsBefore,
        strategy: result.strategy,
        snapshot: result.snapshot,
        counts: countsByStatus(result.snapshot),
      };
      metrics.pollSucceeded(result.snapshot, {
        durationSeconds: report.durationMs / 1000,
        requests: report.requests,
        strategy: result.strategy,
        finishedAt: finishedAt / 1000,
      });
      logger.info(
        {
          strategy: report.strategy,
          durationMs: report.durationMs,
          requests: report.requests,
          depth: result.snapshot.depth,
          ...report.counts,
          eventNames: result.snapshot.groups.size,
        },
        'Poll finished',
      );
      this.lastReport = report;
      this.lastSuccess = report;
      return report;
    } catch (caught) {
      const durationMs = this.#now() - startedAt;
      const requests = metrics.requestsSent - requestsBefore;
      if (parent?.aborted === true) {
        logger.info({ durationMs }, 'Poll aborted: shutting down');
        return {
          portal: this.name,
          ok: false,
          skipped: 'aborted',
          startedAt,
          durationMs,
          requests,
        };
      }
      const error = classify(caught, deadline.aborted, timeoutMs);
      metrics.pollFailed(error.reason, { durationSeconds: durationMs / 1000, requests, strategy });
      if (
        error.code === 'B24_API_ERROR' &&
        'apiCode' in error &&
        error.apiCode === 'OVERLOAD_LIMIT'
      ) {
        this.#pausedUntil = this.#now() + OVERLOAD_PAUSE_MS;
      }
      logFailure(logger, error, { durationMs, requests, pausedUntil: this.#pausedUntil });
      this.expireStale();
      const report: PollReport = {
        portal: this.name,
        ok: false,
        startedAt,
        durationMs,
        requests,
        strategy,
        error,
      };
      this.lastReport = report;
      return report;
    }
  }

  async #collect(
    knownEventNames: ReadonlySet<string>,
    signal: AbortSignal,
    deadline: number,
    takenAt: number,
    onStrategy: (strategy: Strategy) => void,
  ): Promise<{ snapshot: QueueSnapshot; strategy: Strategy }> {
    const input = {
      client: this.#options.client,
      takenAt,
      knownEventNames,
      maxEventNames: this.#eventNames.cap,
      authConnector: this.#options.authConnector,
      signal,
      deadline,
    };
    const mode = this.#options.strategy ?? 'auto';
    if (mode === 'scan') {
      onStrategy('scan');
      return { snapshot: await scanQueue(input), strategy: 'scan' };
    }
    if (mode === 'count') {
      onStrategy('count');
      return { snapshot: await countQueue(input), strategy: 'count' };
    }
    // auto: a queue that was large at the last poll is counted straight away (event names and
    // totals in one batch); otherwise the first page tells the depth: small queues are scanned
    // (exact, cheap), large ones counted.
    const scanMaxRows = this.#options.scanMaxRows ?? 1000;
    if (this.#lastDepth > scanMaxRows) {
      onStrategy('count');
      const snapshot = await countQueue(input);
      this.#lastDepth = snapshot.depth;
      return { snapshot, strategy: 'count' };
    }
    const { eventNames, firstPage } = await firstRequest(input);
    this.#lastDepth = typeof firstPage.total === 'number' ? firstPage.total : 0;
    if (this.#lastDepth <= scanMaxRows) {
      onStrategy('scan');
      return { snapshot: await scanFrom(input, eventNames, firstPage), strategy: 'scan' };
    }
    onStrategy('count');
    return { snapshot: await countQueue(input, eventNames), strategy: 'count' };
  }
}

function classify(caught: unknown, deadlinePassed: boolean, timeoutMs: number): MonitorError {
  if (deadlinePassed && (caught instanceof AbortedError || !(caught instanceof MonitorError))) {
    return new TimeoutError(`Poll did not finish within its deadline of ${timeoutMs} ms`, {
      cause: caught,
    });
  }
  if (caught instanceof MonitorError) return caught;
  const message = caught instanceof Error ? caught.message : String(caught);
  return new MonitorError(
    'B24_INTERNAL',
    'bad_response',
    `Unexpected error while polling: ${message}`,
    {
      cause: caught,
    },
  );
}

const REAUTHORIZE =
  'The application must be re-authorized on the portal: give the monitor a new refresh token';

function logFailure(
  logger: Logger,
  error: MonitorError,
  details: { durationMs: number; requests: number; pausedUntil: number },
): void {
  const fields: Record<string, unknown> = {
    reason: error.reason,
    code: error.code,
    error: error.message,
    durationMs: details.durationMs,
    requests: details.requests,
  };
  if ('apiCode' in error && typeof error.apiCode === 'string') fields['apiCode'] = error.apiCode;
  if (error instanceof TokenStoreError) {
    // The pair in the file is likely fine: the error's own message says what to fix.
    fields['action'] = 'Fix or remove the token file named in the error';
    logger.error(fields, 'Poll failed: token file unusable');
    return;
  }
  if (error.reason === 'auth') {
    fields['action'] = REAUTHORIZE;
    logger.error(fields, 'Poll failed: not authorized');
    return;
  }
  if (fields['apiCode'] === 'OVERLOAD_LIMIT') {
    fields['pausedUntil'] = new Date(details.pausedUntil).toISOString();
    logger.error(fields, 'Poll failed: REST API blocked on the portal, polling paused');
    return;
  }
  logger.warn(fields, 'Poll failed');
}

export type { FailureReason };
