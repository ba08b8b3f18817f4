/**
 * What the status page shows of each portal, read from its poller's last reports: health and
 * why, the age of the oldest queued and error rows, rows by status, the last poll and its
 * cost. Pure: no HTML here (statusPage.ts), no I/O.
 */
import type { PortalPoller } from '../poll/poller.js';
import type { PollReport } from '../poll/report.js';
import { STATUSES, type QueueSnapshot, type Status } from '../queue/snapshot.js';

/** From worst to best: the page sorts on this first. */
const HEALTHS = ['failing', 'stale', 'waiting', 'errors', 'late', 'ok'] as const;
export type Health = (typeof HEALTHS)[number];

export const HEALTH_WORDS: Record<Health, string> = {
  failing: 'failing',
  stale: 'stale',
  waiting: 'no poll yet',
  errors: 'error rows',
  late: 'queue waits',
  ok: 'ok',
};

/** The summary's words: `3 with error rows`. */
export const SUMMARY_WORDS: Record<Health, string> = {
  failing: 'failing',
  stale: 'stale',
  waiting: 'not polled yet',
  errors: 'with error rows',
  late: 'with old queued rows',
  ok: 'ok',
};

/**
 * A queued row older than this makes a portal `late` (the default threshold of the alert
 * B24OfflineOldestQueuedTooOld).
 */
export const LATE_AFTER_SECONDS = 900;

/** Each poll-failure reason of the contract, in words. */
const REASON_WORDS: Readonly<Record<string, string>> = {
  auth: 'not authorized: the token pair was refused; authorize the application again',
  forbidden: 'forbidden: not an administrator, a webhook, or a missing scope',
  license: "the portal's plan lacks REST or connectors",
  payment: "the application's subscription has lapsed",
  rate_limit: 'rate-limited by the portal (too many requests, or REST blocked)',
  operating_limit: 'a method used up its operating time (OPERATION_TIME_LIMIT)',
  timeout: 'the poll did not finish in time',
  network: 'the portal cannot be reached (network)',
  api_error: 'the portal answered an error',
  bad_response: 'the portal sent an answer that cannot be read',
};

export function reasonInWords(reason: string): string {
  return REASON_WORDS[reason] ?? reason;
}

export interface PortalStatus {
  readonly name: string;
  readonly health: Health;
  /** Failure reason code of the last poll, when it failed. */
  readonly reason: string | null;
  readonly reasonWords: string | null;
  readonly errorMessage: string | null;
  /** From the last successful poll; null before the first. */
  readonly depth: number | null;
  readonly counts: Readonly<Record<Status, number>> | null;
  /** Seconds, now minus the oldest row's TIMESTAMP_X; null when there is none. */
  readonly oldestQueuedAge: number | null;
  readonly oldestErrorAge: number | null;
  readonly lastPoll: PollReport | null;
  readonly lastSuccessAt: number | null;
}

function oldestOf(snapshot: QueueSnapshot, status: Status): number | null {
  let oldest: number | null = null;
  for (const stats of snapshot.groups.values()) {
    const value = stats[status].oldest;
    if (value !== null && (oldest === null || value < oldest)) oldest = value;
  }
  return oldest;
}

function ageOf(oldest: number | null, nowMs: number): number | null {
  return oldest === null ? null : Math.max(0, Math.round(nowMs / 1000 - oldest));
}

export function portalStatus(poller: PortalPoller, nowMs: number): PortalStatus {
  const report = poller.lastReport;
  const success = poller.lastSuccess;
  const snapshot = success?.snapshot;
  const counts = success?.counts ?? null;
  const oldestQueuedAge =
    snapshot === undefined ? null : ageOf(oldestOf(snapshot, 'queued'), nowMs);
  const oldestErrorAge = snapshot === undefined ? null : ageOf(oldestOf(snapshot, 'error'), nowMs);
  const failed = report !== null && !report.ok && report.error !== undefined;
  let health: Health;
  if (failed) health = 'failing';
  else if (success === null) health = 'waiting';
  else if (poller.isStale(nowMs)) health = 'stale';
  else if ((counts?.error ?? 0) > 0) health = 'errors';
  else if ((oldestQueuedAge ?? 0) > LATE_AFTER_SECONDS) health = 'late';
  else health = 'ok';
  const reason = failed ? (report.error?.reason ?? null) : null;
  return {
    name: poller.name,
    health,
    reason,
    reasonWords: reason === null ? null : reasonInWords(reason),
    errorMessage: failed ? (report.error?.message ?? null) : null,
    depth: snapshot?.depth ?? null,
    counts,
    oldestQueuedAge,
    oldestErrorAge,
    lastPoll: report,
    lastSuccessAt: success === null ? null : success.startedAt + success.durationMs,
  };
}

/**
 * Worst first: by health, then by what makes that health bad (the longest without a good
 * poll, the most error rows, the oldest queued row), then by name.
 */
export function compareWorstFirst(a: PortalStatus, b: PortalStatus): number {
  const byHealth = HEALTHS.indexOf(a.health) - HEALTHS.indexOf(b.health);
  if (byHealth !== 0) return byHealth;
  const byLastSuccess = (a.lastSuccessAt ?? 0) - (b.lastSuccessAt ?? 0);
  if ((a.health === 'failing' || a.health === 'stale') && byLastSuccess !== 0) return byLastSuccess;
  const byErrors = (b.counts?.error ?? 0) - (a.counts?.error ?? 0);
  if (byErrors !== 0) return byErrors;
  const byAge = (b.oldestQueuedAge ?? 0) - (a.oldestQueuedAge ?? 0);
  if (byAge !== 0) return byAge;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export interface StatusQuery {
  /** Case-insensitive part of the portal's name. */
  readonly filter: string;
  /** Only portals that are not `ok`. */
  readonly problemsOnly: boolean;
  /** 1-based. */
  readonly page: number;
}

export const PAGE_SIZE = 50;

export interface StatusListing {
  readonly total: number;
  readonly byHealth: Readonly<Record<Health, number>>;
  /** Portals that match the query, before paging. */
  readonly matching: number;
  readonly page: number;
  readonly pages: number;
  readonly shown: readonly PortalStatus[];
}

export function listPortals(
  pollers: readonly PortalPoller[],
  query: StatusQuery,
  nowMs: number,
): StatusListing {
  const all = pollers.map((p) => portalStatus(p, nowMs));
  const byHealth = Object.fromEntries(HEALTHS.map((h) => [h, 0])) as Record<Health, number>;
  for (const status of all) byHealth[status.health] += 1;
  const needle = query.filter.toLowerCase();
  const matching = all
    .filter((s) => !query.problemsOnly || s.health !== 'ok')
    .filter((s) => needle === '' || s.name.toLowerCase().includes(needle))
    .sort(compareWorstFirst);
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  const page = Math.min(Math.max(1, query.page), pages);
  return {
    total: all.length,
    byHealth,
    matching: matching.length,
    page,
    pages,
    shown: matching.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE),
  };
}

export interface EventNameRow {
  readonly eventName: string;
  readonly counts: Readonly<Record<Status, number>>;
  readonly oldestAge: Readonly<Record<Status, number | null>>;
}

/** A portal's event names from its last successful poll: most error rows first. */
export function eventNameRows(poller: PortalPoller, nowMs: number): EventNameRow[] {
  const snapshot = poller.lastSuccess?.snapshot;
  if (snapshot === undefined) return [];
  const rows = [...snapshot.groups].map(([eventName, stats]) => ({
    eventName,
    counts: Object.fromEntries(STATUSES.map((s) => [s, stats[s].count])) as Record<Status, number>,
    oldestAge: Object.fromEntries(
      STATUSES.map((s) => [s, ageOf(stats[s].oldest, nowMs)]),
    ) as Record<Status, number | null>,
  }));
  return rows.sort(
    (a, b) =>
      b.counts.error - a.counts.error ||
      (b.oldestAge.queued ?? -1) - (a.oldestAge.queued ?? -1) ||
      b.counts.queued - a.counts.queued ||
      (a.eventName < b.eventName ? -1 : 1),
  );
}

/** An age in the largest units that matter: `42 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function humanAge(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}
