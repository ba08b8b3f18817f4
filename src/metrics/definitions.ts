/**
 * Every metric of the contract, on the monitor's own registries (never the global one).
 * Queue gauges are set from the last snapshot of the background poll: a scrape never calls
 * Bitrix24, and each HELP text says so.
 */
import { Counter, Gauge, Registry } from 'prom-client';

const FROM_POLL = '(from the background poll; a scrape never calls Bitrix24)';

export interface MonitorMetrics {
  /** The monitor's own registry; rendered by MetricsRenderer (render.ts). */
  readonly registry: Registry;
  readonly events: Gauge<'portal' | 'event_name' | 'status'>;
  readonly queueDepth: Gauge<'portal'>;
  readonly oldestEvent: Gauge<'portal' | 'event_name' | 'status'>;
  readonly olderThan: Gauge<'portal' | 'status' | 'age'>;
  readonly up: Gauge<'portal'>;
  readonly lastSuccess: Gauge<'portal'>;
  readonly pollDuration: Gauge<'portal'>;
  readonly pollRequests: Gauge<'portal'>;
  readonly pollStrategy: Gauge<'portal' | 'strategy'>;
  readonly polls: Counter<'portal'>;
  readonly pollFailures: Counter<'portal' | 'reason'>;
  readonly restRequests: Counter<'portal' | 'method'>;
  readonly restErrors: Counter<'portal' | 'method' | 'code'>;
  readonly restOperating: Gauge<'portal' | 'method'>;
  readonly restProcessing: Counter<'portal' | 'method'>;
  readonly breakdownTimestamp: Gauge<'portal'>;
  readonly statusEvents: Gauge<'portal' | 'status'>;
  readonly statusOldest: Gauge<'portal' | 'status'>;
  readonly oauthRefreshes: Counter<'portal'>;
  readonly oauthRefreshFailures: Counter<'portal'>;
  readonly tokenPersistFailures: Counter<'portal'>;
  readonly buildInfo: Gauge<'version'>;
}

export function createMetrics(version: string): MonitorMetrics {
  const registry = new Registry();
  const registers = [registry];

  const metrics: MonitorMetrics = {
    registry,
    events: new Gauge({
      name: 'b24_offline_events',
      help: `Rows in the offline-event queue by event name and status ${FROM_POLL}`,
      labelNames: ['portal', 'event_name', 'status'],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'b24_offline_queue_depth',
      help: `Rows in the whole queue, the total reported by event.offline.list ${FROM_POLL}`,
      labelNames: ['portal'],
      registers,
    }),
    oldestEvent: new Gauge({
      name: 'b24_offline_oldest_event_timestamp_seconds',
      help: `Smallest TIMESTAMP_X of the group, Unix seconds; absent when the group is empty ${FROM_POLL}`,
      labelNames: ['portal', 'event_name', 'status'],
      registers,
    }),
    olderThan: new Gauge({
      name: 'b24_offline_events_older_than',
      help: `Rows of the status whose TIMESTAMP_X is more than age seconds before the poll ${FROM_POLL}`,
      labelNames: ['portal', 'status', 'age'],
      registers,
    }),
    up: new Gauge({
      name: 'b24_offline_up',
      help: `1 when the last poll of the portal succeeded, else 0 ${FROM_POLL}`,
      labelNames: ['portal'],
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'b24_offline_last_success_timestamp_seconds',
      help: 'Unix time the last successful poll finished',
      labelNames: ['portal'],
      registers,
    }),
    pollDuration: new Gauge({
      name: 'b24_offline_poll_duration_seconds',
      help: 'How long the last poll took',
      labelNames: ['portal'],
      registers,
    }),
    pollRequests: new Gauge({
      name: 'b24_offline_poll_requests',
      help: 'HTTP requests the last poll sent to the portal',
      labelNames: ['portal'],
      registers,
    }),
    pollStrategy: new Gauge({
      name: 'b24_offline_poll_strategy',
      help: 'Strategy of the last poll: 1 for the one used (scan: a page per 50 rows; count: totals in one batch)',
      labelNames: ['portal', 'strategy'],
      registers,
    }),
    polls: new Counter({
      name: 'b24_offline_polls_total',
      help: 'Polls started',
      labelNames: ['portal'],
      registers,
    }),
    pollFailures: new Counter({
      name: 'b24_offline_poll_failures_total',
      help: 'Failed polls by reason',
      labelNames: ['portal', 'reason'],
      registers,
    }),
    restRequests: new Counter({
      name: 'b24_offline_rest_requests_total',
      help: 'HTTP requests sent to the portal (a batch counts once, as batch)',
      labelNames: ['portal', 'method'],
      registers,
    }),
    restErrors: new Counter({
      name: 'b24_offline_rest_errors_total',
      help: 'Error answers by Bitrix24 error code, HTTP status or network error code',
      labelNames: ['portal', 'method', 'code'],
      registers,
    }),
    restOperating: new Gauge({
      name: 'b24_offline_rest_operating_seconds',
      help: 'The last time.operating the portal reported for the method (limit: about 480 s per 10 min)',
      labelNames: ['portal', 'method'],
      registers,
    }),
    restProcessing: new Counter({
      name: 'b24_offline_rest_processing_seconds_total',
      help: "Server time the portal reported for the monitor's calls (time.processing, per batch command): what the monitor costs the portal's database",
      labelNames: ['portal', 'method'],
      registers,
    }),
    breakdownTimestamp: new Gauge({
      name: 'b24_offline_breakdown_timestamp_seconds',
      help: `When the per-event-name and per-age series were last refreshed, Unix seconds; they may be refreshed less often than the headline ${FROM_POLL}`,
      labelNames: ['portal'],
      registers,
    }),
    statusEvents: new Gauge({
      name: 'b24_offline_status_events',
      help: `Rows in the queue by status, refreshed on every poll ${FROM_POLL}`,
      labelNames: ['portal', 'status'],
      registers,
    }),
    statusOldest: new Gauge({
      name: 'b24_offline_status_oldest_timestamp_seconds',
      help: `Smallest TIMESTAMP_X of the status, Unix seconds, refreshed on every poll; absent when the status has no rows ${FROM_POLL}`,
      labelNames: ['portal', 'status'],
      registers,
    }),
    oauthRefreshes: new Counter({
      name: 'b24_offline_oauth_refreshes_total',
      help: 'Successful OAuth token refreshes',
      labelNames: ['portal'],
      registers,
    }),
    oauthRefreshFailures: new Counter({
      name: 'b24_offline_oauth_refresh_failures_total',
      help: 'Failed OAuth token refreshes',
      labelNames: ['portal'],
      registers,
    }),
    tokenPersistFailures: new Counter({
      name: 'b24_offline_token_file_write_failures_total',
      help: 'Rotated token pairs that could not be written to the token file (kept in memory)',
      labelNames: ['portal'],
      registers,
    }),
    buildInfo: new Gauge({
      name: 'b24_offline_build_info',
      help: 'Always 1; the version label names the running build',
      labelNames: ['version'],
      registers,
    }),
  };
  metrics.buildInfo.set({ version }, 1);
  return metrics;
}
