/**
 * Polls one portal: never two at once, each under a deadline, the outcome reported to its
 * observer and one JSON log line. Any error is classified by its `reason`; the queue gauges
 * keep their last good values until they are stale.
 */
import type { Logger } from 'pino';
import { MonitorError } from '../b24/errors.js';
import type { RestClient } from '../b24/types.js';
import { PORTAL_DEFAULTS } from '../config/settings.js';
import type { PollStrategy } from '../config/types.js';
import { countsByStatus } from '../queue/snapshot.js';
import type { Strategy } from '../queue/strategy.js';
import { EventNameBook } from './eventNames.js';
import { logFailure, pollError } from './failure.js';
import { meteredClient } from './metered.js';
import type { PollObserver } from './observer.js';
import { countsOf, finishedFields, headlineOf } from './outcome.js';
import { PortalPauses } from './pauses.js';
import { CountPlanner } from './plan.js';
import { QueueReader, type QueueRead } from './reader.js';
import type { PollReport } from './report.js';
import type { RequestCount } from './requestCounter.js';

export interface PortalPollerOptions {
  readonly name: string;
  readonly client: RestClient;
  /** Hears each poll's outcome (metrics/ implements it). */
  readonly observer: PollObserver;
  /** The requests `client` has sent (see requestCounter.ts). */
  readonly requests: RequestCount;
  /** A child logger that already carries `{ portal }`. */
  readonly logger: Logger;
  /** Every default below: PORTAL_DEFAULTS. */
  readonly strategy?: PollStrategy;
  /** Share of wall time the monitor's database time on the portal may take. */
  readonly dbTimeShare?: number;
  /** Per-request timeout: the count plan sizes its requests to half of it. */
  readonly requestTimeoutMs?: number;
  readonly pollTimeoutMs?: number;
  readonly staleAfterMs?: number;
  readonly authConnector?: string | undefined;
  /** Event names with series of their own; the rest count under `other`. */
  readonly maxEventNames?: number | undefined;
  /** A name neither bound nor seen with rows this long is forgotten. @default 1 hour */
  readonly forgetEventNamesAfterMs?: number | undefined;
  /** @default Date.now */
  readonly now?: () => number;
}

export class PortalPoller {
  readonly name: string;
  readonly #options: PortalPollerOptions;
  readonly #now: () => number;
  readonly #eventNames: EventNameBook;
  readonly #reader: QueueReader;
  readonly #pauses = new PortalPauses();
  #running: Promise<PollReport> | null = null;
  lastReport: PollReport | null = null;
  lastSuccess: PollReport | null = null;

  constructor(options: PortalPollerOptions) {
    this.name = options.name;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#eventNames = new EventNameBook({
      cap: options.maxEventNames ?? PORTAL_DEFAULTS.maxEventNames,
      forgetAfterMs: options.forgetEventNamesAfterMs,
    });
    const planner = new CountPlanner({
      share: options.dbTimeShare ?? PORTAL_DEFAULTS.dbTimeShare,
      requestTimeoutMs: options.requestTimeoutMs ?? PORTAL_DEFAULTS.requestTimeoutMs,
      always: options.strategy === 'count',
    });
    this.#reader = new QueueReader(options.strategy ?? 'auto', planner, this.#now);
  }

  get staleAfterMs(): number {
    return this.#options.staleAfterMs ?? PORTAL_DEFAULTS.staleAfterMs;
  }

  /** True when there is no successful poll, or the last one is older than the stale limit. */
  isStale(now = this.#now()): boolean {
    if (this.lastSuccess === null) return true;
    return now - (this.lastSuccess.startedAt + this.lastSuccess.durationMs) > this.staleAfterMs;
  }

  /** Removes the queue gauges once stale; called before each scrape and after each poll. */
  expireStale(now = this.#now()): void {
    if (this.isStale(now) && this.#options.observer.removeQueueSeries()) {
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
    const { observer, logger, requests } = this.#options;
    const startedAt = this.#now();
    const holding = this.#pauses.holding(startedAt);
    if (holding === 'paused') {
      logger.debug(
        { pausedUntil: new Date(this.#pauses.pausedUntil).toISOString() },
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
    observer.pollStarted();
    if (holding === 'operating_limit') return this.#skipOperatingLimit(startedAt);
    const requestsBefore = requests.sent;
    const timeoutMs = this.#options.pollTimeoutMs ?? PORTAL_DEFAULTS.pollTimeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = parent === undefined ? deadline : AbortSignal.any([parent, deadline]);
    let strategy: Strategy | undefined;
    const asked = new Set(this.#eventNames.known(startedAt));
    let processingSeconds = 0;
    const client = meteredClient(this.#options.client, (method, seconds) => {
      processingSeconds += seconds;
      observer.processing(method, seconds);
    });
    try {
      const read = await this.#reader.read(
        {
          client,
          takenAt: Math.floor(startedAt / 1000),
          knownEventNames: asked,
          maxEventNames: this.#eventNames.cap,
          authConnector: this.#options.authConnector,
          signal,
          deadline: startedAt + timeoutMs,
        },
        startedAt,
        (used) => {
          strategy = used;
        },
      );
      const finishedAt = this.#now();
      return this.#succeeded(
        { ...read, snapshot: this.#eventNames.fold(read.snapshot, asked, finishedAt) },
        { startedAt, finishedAt, requests: requests.sent - requestsBefore, processingSeconds },
      );
    } catch (caught) {
      const durationMs = this.#now() - startedAt;
      const sent = requests.sent - requestsBefore;
      if (parent?.aborted === true) {
        logger.info({ durationMs }, 'Poll aborted: shutting down');
        return {
          portal: this.name,
          ok: false,
          skipped: 'aborted',
          startedAt,
          durationMs,
          requests: sent,
        };
      }
      const error = pollError(caught, deadline.aborted, timeoutMs);
      return this.#failed(error, { startedAt, durationMs, requests: sent, strategy });
    }
  }

  #failed(
    error: MonitorError,
    poll: { startedAt: number; durationMs: number; requests: number; strategy?: Strategy },
  ): PollReport {
    const { durationMs, requests, strategy } = poll;
    this.#options.observer.pollFailed(error.reason, {
      durationSeconds: durationMs / 1000,
      requests,
      strategy,
    });
    this.#pauses.failed(error, this.#now());
    logFailure(this.#options.logger, error, {
      durationMs,
      requests,
      pausedUntil: this.#pauses.pausedUntil,
      operatingUntil: this.#pauses.operatingUntil,
    });
    this.expireStale();
    const report: PollReport = {
      portal: this.name,
      ok: false,
      startedAt: poll.startedAt,
      durationMs,
      requests,
      strategy,
      error,
    };
    this.lastReport = report;
    return report;
  }

  #succeeded(
    read: QueueRead,
    poll: { startedAt: number; finishedAt: number; requests: number; processingSeconds: number },
  ): PollReport {
    const { startedAt, finishedAt } = poll;
    const plan = read.plan;
    const headline = plan?.headline ?? headlineOf(read.snapshot);
    const breakdownAt = plan === undefined ? startedAt / 1000 : plan.breakdownAt;
    const report: PollReport = {
      portal: this.name,
      ok: true,
      startedAt,
      durationMs: finishedAt - startedAt,
      requests: poll.requests,
      strategy: read.strategy,
      ...(read.fallback === undefined ? {} : { fallback: read.fallback }),
      snapshot: read.snapshot,
      counts: plan === undefined ? countsByStatus(read.snapshot) : countsOf(headline),
      headline,
      ...(breakdownAt === null ? {} : { breakdownAt }),
      processingSeconds: poll.processingSeconds,
      ...(plan === undefined
        ? {}
        : { refreshed: plan.refreshed, breakdownTimedOut: plan.breakdownTimedOut }),
    };
    this.#options.observer.pollSucceeded(read.snapshot, {
      durationSeconds: report.durationMs / 1000,
      requests: report.requests,
      strategy: read.strategy,
      finishedAt: finishedAt / 1000,
      headline,
      breakdownAt,
    });
    this.#options.logger.info(finishedFields(report, read), 'Poll finished');
    this.lastReport = report;
    this.lastSuccess = report;
    return report;
  }

  /**
   * A poll while the operating time is known to be used up: no request (each would be refused
   * and would count toward the limit), but a failure with reason `operating_limit`, the queue
   * gauges kept until they are stale, as for any failure.
   */
  #skipOperatingLimit(startedAt: number): PollReport {
    const { observer, logger } = this.#options;
    const until = new Date(this.#pauses.operatingUntil).toISOString();
    const error = new MonitorError(
      'B24_OPERATING_LIMIT',
      'operating_limit',
      `Operating time of the portal used up until ${until}: poll skipped`,
    );
    observer.pollFailed(error.reason, { durationSeconds: 0, requests: 0 });
    logger.warn(
      { reason: error.reason, code: error.code, operatingUntil: until },
      'Poll skipped: operating time used up until its reset',
    );
    this.expireStale();
    const report: PollReport = {
      portal: this.name,
      ok: false,
      skipped: 'operating_limit',
      startedAt,
      durationMs: 0,
      requests: 0,
      error,
    };
    this.lastReport = report;
    return report;
  }
}
