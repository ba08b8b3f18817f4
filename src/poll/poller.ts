/**
 * Polls one portal: never two at once, each under a deadline, the outcome turned into metrics
 * and one JSON log line. Any error is classified by its `reason`; the queue gauges keep their
 * last good values until they are stale.
 */
import type { Logger } from 'pino';
import { AbortedError, MonitorError, TimeoutError } from '../b24/errors.js';
import type { RestClient } from '../b24/types.js';
import type { PollStrategy } from '../config/types.js';
import type { PortalMetrics, Strategy } from '../metrics/portalMetrics.js';
import { adviceFor } from './advice.js';
import { EventNameBook } from './eventNames.js';
import { meteredClient } from './metered.js';
import { countsOf, headlineOf, planFields, round6 } from './outcome.js';
import { CountPlanner, type PlanOutcome } from './plan.js';
import { MissingTotalError } from './rows.js';
import { scanQueue, type ScanInput } from './scan.js';
import { countsByStatus, type GroupStats, type QueueSnapshot, type Status } from './snapshot.js';

/** After `OVERLOAD_LIMIT` (REST blocked by hand on the portal) polling pauses this long. */
const OVERLOAD_PAUSE_MS = 15 * 60_000;

/**
 * After `OPERATION_TIME_LIMIT` with no `operating_reset_at` known, polls are skipped this long:
 * the server's window is made of one-minute baskets, so the limit lifts a minute at a time.
 */
const OPERATING_FALLBACK_PAUSE_MS = 60_000;

/**
 * After a count answered without `total`, polls scan instead of counting for this long, then
 * try counting again (a scan costs a request per 50 rows; a count without totals is nothing).
 */
const NO_TOTAL_RECHECK_MS = 60 * 60_000;

export interface PortalPollerOptions {
  readonly name: string;
  readonly client: RestClient;
  readonly metrics: PortalMetrics;
  /** A child logger that already carries `{ portal }`. */
  readonly logger: Logger;
  /** @default auto */
  readonly strategy?: PollStrategy;
  /** Share of wall time the monitor's database time on the portal may take. @default 0.05 */
  readonly dbTimeShare?: number;
  /** Per-request timeout: the count plan sizes its requests to half of it. @default 15000 */
  readonly requestTimeoutMs?: number;
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
  /**
   * Set when the poll did not run: the portal is paused (OVERLOAD_LIMIT), its operating time
   * is used up until a known reset (counted as a failure), or the poll was aborted.
   */
  readonly skipped?: 'paused' | 'operating_limit' | 'aborted';
  readonly startedAt: number;
  readonly durationMs: number;
  readonly requests: number;
  readonly strategy?: Strategy | undefined;
  /** Set when the count strategy could not count (no `total`) and the queue was scanned. */
  readonly fallback?: 'scan' | undefined;
  readonly snapshot?: QueueSnapshot | undefined;
  readonly counts?: Record<Status, number> | undefined;
  /** Rows and oldest row per status, as of this poll (the count plan's headline, or the scan). */
  readonly headline?: Readonly<Record<Status, GroupStats>> | undefined;
  /** Unix seconds the per-name and per-age figures were last refreshed. */
  readonly breakdownAt?: number | undefined;
  /** Server time the portal reported for this poll's commands (sum of `processing`). */
  readonly processingSeconds?: number | undefined;
  /** Breakdowns the count plan refreshed in this poll (none: a headline poll). */
  readonly refreshed?: PlanOutcome['refreshed'] | undefined;
  /** A breakdown request timed out (the poll kept the older breakdowns). */
  readonly breakdownTimedOut?: boolean | undefined;
  readonly error?: MonitorError | undefined;
}

export class PortalPoller {
  readonly name: string;
  readonly #options: PortalPollerOptions;
  readonly #now: () => number;
  readonly #eventNames: EventNameBook;
  #running: Promise<PollReport> | null = null;
  #pausedUntil = 0;
  /** Unix ms until which the portal's operating time is known to be used up. */
  #operatingUntil = 0;
  /** Unix ms until which the count strategy scans instead (the portal sent no `total`). */
  #noTotalUntil = 0;
  readonly #planner: CountPlanner;
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
    this.#planner = new CountPlanner({
      share: options.dbTimeShare ?? 0.05,
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      always: options.strategy === 'count',
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
    if (startedAt < this.#operatingUntil) return this.#skipOperatingLimit(startedAt);
    const requestsBefore = metrics.requestsSent;
    const timeoutMs = this.#options.pollTimeoutMs ?? 25_000;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = parent === undefined ? deadline : AbortSignal.any([parent, deadline]);
    let strategy: Strategy | undefined;
    const asked = new Set(this.#eventNames.known(startedAt));
    let processingSeconds = 0;
    const client = meteredClient(this.#options.client, (method, seconds) => {
      processingSeconds += seconds;
      metrics.processing(method, seconds);
    });
    try {
      const collected = await this.#collect(
        client,
        startedAt,
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
      const plan = result.plan;
      const headline = plan?.headline ?? headlineOf(result.snapshot);
      const breakdownAt = plan === undefined ? startedAt / 1000 : plan.breakdownAt;
      const report: PollReport = {
        portal: this.name,
        ok: true,
        startedAt,
        durationMs: finishedAt - startedAt,
        requests: metrics.requestsSent - requestsBefore,
        strategy: result.strategy,
        ...(result.fallback === undefined ? {} : { fallback: result.fallback }),
        snapshot: result.snapshot,
        counts: plan === undefined ? countsByStatus(result.snapshot) : countsOf(headline),
        headline,
        ...(breakdownAt === null ? {} : { breakdownAt }),
        processingSeconds,
        ...(plan === undefined
          ? {}
          : { refreshed: plan.refreshed, breakdownTimedOut: plan.breakdownTimedOut }),
      };
      metrics.pollSucceeded(result.snapshot, {
        durationSeconds: report.durationMs / 1000,
        requests: report.requests,
        strategy: result.strategy,
        finishedAt: finishedAt / 1000,
        headline,
        breakdownAt,
      });
      logger.info(
        {
          strategy: report.strategy,
          // The count strategy needs totals; without them the queue was scanned instead.
          ...(result.fallback === undefined ? {} : { fallback: result.fallback }),
          // The portal sent no `total`: the depth is the rows the scan saw, or the plan took
          // its counts from pages shorter than 50 rows.
          ...(result.snapshot.totalMissing === true || plan?.totalsFromPages === true
            ? { totalMissing: true }
            : {}),
          ...(plan?.totalsFromPages === true ? { fallback: 'short pages' } : {}),
          durationMs: report.durationMs,
          requests: report.requests,
          depth: result.snapshot.depth,
          ...report.counts,
          eventNames: result.snapshot.groups.size,
          processingSeconds: round6(processingSeconds),
          ...(plan === undefined ? {} : planFields(plan, startedAt)),
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
      if (error.reason === 'operating_limit') {
        const resetAt = 'operatingResetAt' in error ? error.operatingResetAt : undefined;
        this.#operatingUntil =
          typeof resetAt === 'number' && resetAt * 1000 > this.#now()
            ? resetAt * 1000
            : this.#now() + OPERATING_FALLBACK_PAUSE_MS;
      }
      logFailure(logger, error, {
        durationMs,
        requests,
        pausedUntil: this.#pausedUntil,
        operatingUntil: this.#operatingUntil,
      });
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

  /**
   * A poll while the operating time is known to be used up: no request (each would be refused
   * and would count toward the limit), but a failure with reason `operating_limit`, the queue
   * gauges kept until they are stale, as for any failure.
   */
  #skipOperatingLimit(startedAt: number): PollReport {
    const { metrics, logger } = this.#options;
    const until = new Date(this.#operatingUntil).toISOString();
    const error = new MonitorError(
      'B24_OPERATING_LIMIT',
      'operating_limit',
      `Operating time of the portal used up until ${until}: poll skipped`,
    );
    metrics.pollFailed(error.reason, { durationSeconds: 0, requests: 0 });
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

  async #collect(
    client: RestClient,
    startedAt: number,
    knownEventNames: ReadonlySet<string>,
    signal: AbortSignal,
    deadline: number,
    takenAt: number,
    onStrategy: (strategy: Strategy) => void,
  ): Promise<Collected> {
    const input: ScanInput = {
      client,
      takenAt,
      knownEventNames,
      maxEventNames: this.#eventNames.cap,
      authConnector: this.#options.authConnector,
      signal,
      deadline,
    };
    if ((this.#options.strategy ?? 'auto') === 'scan') {
      onStrategy('scan');
      return { snapshot: await scanQueue(input), strategy: 'scan' };
    }
    // count and auto: the count plan at every depth (a queue of at most 50 rows is read from
    // the headline's own page); count refreshes the breakdowns on every poll, auto as the
    // database budget allows and at least every 5 minutes. A portal that left out a `total`
    // no page could replace is scanned instead (exact without totals), and counting is tried
    // again only after NO_TOTAL_RECHECK_MS.
    if (this.#now() >= this.#noTotalUntil) {
      onStrategy('count');
      try {
        const plan = await this.#planner.poll({ ...input, nowMs: startedAt });
        return { snapshot: plan.snapshot, strategy: 'count', plan };
      } catch (error) {
        if (!(error instanceof MissingTotalError)) throw error;
        this.#noTotalUntil = this.#now() + NO_TOTAL_RECHECK_MS;
      }
    }
    onStrategy('scan');
    return { snapshot: await scanQueue(input), strategy: 'scan', fallback: 'scan' };
  }
}

interface Collected {
  readonly snapshot: QueueSnapshot;
  readonly strategy: Strategy;
  readonly plan?: PlanOutcome;
  /** The count plan could not be used (a `total` left out): the poll scanned instead. */
  readonly fallback?: 'scan';
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

function logFailure(
  logger: Logger,
  error: MonitorError,
  details: { durationMs: number; requests: number; pausedUntil: number; operatingUntil: number },
): void {
  const advice = adviceFor(error);
  const fields: Record<string, unknown> = {
    reason: error.reason,
    code: error.code,
    error: error.message,
    durationMs: details.durationMs,
    requests: details.requests,
    reauthorize: advice.reauthorize,
  };
  if ('apiCode' in error && typeof error.apiCode === 'string') fields['apiCode'] = error.apiCode;
  if (fields['apiCode'] === 'OVERLOAD_LIMIT') {
    fields['pausedUntil'] = new Date(details.pausedUntil).toISOString();
  }
  if (error.reason === 'operating_limit') {
    fields['operatingUntil'] = new Date(details.operatingUntil).toISOString();
  }
  logger[advice.level](fields, advice.message);
}
