/**
 * The metric series of one portal. Implements the REST client's observer (requests, errors,
 * operating time, refreshes) and the poller's (each poll's outcome into gauge values). Keeps track of
 * the label sets it has set, so event names that vanish and stale data are removed exactly.
 */
import type { FailureReason } from '../b24/errors.js';
import { FAILURE_REASONS } from '../b24/errors.js';
import type { ClientObserver } from '../b24/types.js';
import type { PollFinished, PollObserver, PollSucceeded } from '../poll/observer.js';
import {
  AGE_THRESHOLDS,
  STATUSES,
  type GroupStats,
  type QueueSnapshot,
  type Status,
} from '../queue/snapshot.js';
import { STRATEGIES } from '../queue/strategy.js';
import type { MonitorMetrics } from './definitions.js';
import { errorCodeLabel } from './errorCodes.js';

export class PortalMetrics implements ClientObserver, PollObserver {
  readonly #metrics: MonitorMetrics;
  readonly #portal: string;
  #eventNames = new Set<string>();
  #hasQueueSeries = false;

  constructor(metrics: MonitorMetrics, portal: string) {
    this.#metrics = metrics;
    this.#portal = portal;
    const labels = { portal };
    metrics.up.set(labels, 0);
    metrics.polls.inc(labels, 0);
    for (const reason of FAILURE_REASONS) metrics.pollFailures.inc({ portal, reason }, 0);
    metrics.oauthRefreshes.inc(labels, 0);
    metrics.oauthRefreshFailures.inc(labels, 0);
    metrics.tokenPersistFailures.inc(labels, 0);
  }

  request(method: string): void {
    this.#metrics.restRequests.inc({ portal: this.#portal, method });
  }

  restError(method: string, code: string): void {
    // The code comes from the portal: a bounded set of label values, the rest `other`.
    this.#metrics.restErrors.inc({ portal: this.#portal, method, code: errorCodeLabel(code) });
  }

  operating(method: string, seconds: number): void {
    this.#metrics.restOperating.set({ portal: this.#portal, method }, seconds);
  }

  /** Server time the portal reported for the monitor's commands of `method`. */
  processing(method: string, seconds: number): void {
    this.#metrics.restProcessing.inc({ portal: this.#portal, method }, seconds);
  }

  refresh(ok: boolean): void {
    (ok ? this.#metrics.oauthRefreshes : this.#metrics.oauthRefreshFailures).inc({
      portal: this.#portal,
    });
  }

  tokenPersistFailed(): void {
    this.#metrics.tokenPersistFailures.inc({ portal: this.#portal });
  }

  pollStarted(): void {
    this.#metrics.polls.inc({ portal: this.#portal });
  }

  pollSucceeded(snapshot: QueueSnapshot, outcome: PollSucceeded): void {
    const m = this.#metrics;
    const portal = this.#portal;
    for (const name of this.#eventNames) {
      if (!snapshot.groups.has(name)) this.#removeEventName(name);
    }
    for (const [eventName, stats] of snapshot.groups) {
      for (const status of STATUSES) {
        const labels = { portal, event_name: eventName, status };
        const group = stats[status];
        m.events.set(labels, group.count);
        if (group.oldest === null) m.oldestEvent.remove(labels);
        else m.oldestEvent.set(labels, group.oldest);
      }
    }
    this.#eventNames = new Set(snapshot.groups.keys());
    for (const status of STATUSES) {
      for (const age of AGE_THRESHOLDS) {
        m.olderThan.set({ portal, status, age: String(age) }, snapshot.olderThan[status][age]);
      }
    }
    m.queueDepth.set({ portal }, snapshot.depth);
    for (const status of outcome.headline === undefined ? [] : STATUSES) {
      const group = (outcome.headline as Readonly<Record<Status, GroupStats>>)[status];
      m.statusEvents.set({ portal, status }, group.count);
      if (group.oldest === null) m.statusOldest.remove({ portal, status });
      else m.statusOldest.set({ portal, status }, group.oldest);
    }
    if (typeof outcome.breakdownAt === 'number')
      m.breakdownTimestamp.set({ portal }, outcome.breakdownAt);
    this.#hasQueueSeries = true;
    m.up.set({ portal }, 1);
    m.lastSuccess.set({ portal }, outcome.finishedAt);
    this.#pollFinished(outcome);
  }

  pollFailed(reason: FailureReason, outcome: PollFinished): void {
    this.#metrics.up.set({ portal: this.#portal }, 0);
    this.#metrics.pollFailures.inc({ portal: this.#portal, reason });
    this.#pollFinished(outcome);
  }

  /** Removes every queue gauge of the portal: its data is too old to be served as fresh. */
  removeQueueSeries(): boolean {
    if (!this.#hasQueueSeries) return false;
    for (const name of this.#eventNames) this.#removeEventName(name);
    this.#eventNames.clear();
    for (const status of STATUSES) {
      for (const age of AGE_THRESHOLDS)
        this.#metrics.olderThan.remove({ portal: this.#portal, status, age: String(age) });
    }
    this.#metrics.queueDepth.remove({ portal: this.#portal });
    this.#metrics.breakdownTimestamp.remove({ portal: this.#portal });
    for (const status of STATUSES) {
      this.#metrics.statusEvents.remove({ portal: this.#portal, status });
      this.#metrics.statusOldest.remove({ portal: this.#portal, status });
    }
    this.#hasQueueSeries = false;
    return true;
  }

  #pollFinished(outcome: PollFinished): void {
    const portal = this.#portal;
    this.#metrics.pollDuration.set({ portal }, outcome.durationSeconds);
    this.#metrics.pollRequests.set({ portal }, outcome.requests);
    if (outcome.strategy !== undefined) {
      for (const strategy of STRATEGIES) {
        this.#metrics.pollStrategy.set({ portal, strategy }, strategy === outcome.strategy ? 1 : 0);
      }
    }
  }

  #removeEventName(eventName: string): void {
    for (const status of STATUSES) {
      const labels = { portal: this.#portal, event_name: eventName, status };
      this.#metrics.events.remove(labels);
      this.#metrics.oldestEvent.remove(labels);
    }
  }
}
