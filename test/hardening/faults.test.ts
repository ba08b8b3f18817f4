/**
 * The fault matrix: one row per way a portal (or its OAuth server) can fail, each run against
 * the simulated portal over real HTTP with the monitor built through the real config loader.
 * For every row: the poll's outcome and `reason`; what /metrics serves (up 0, the last good
 * queue values kept, then removed once stale); exactly one clear log line for the failure;
 * recovery once the fault clears; and nothing but read-only methods in the portal's journal.
 *
 * Time: the client's waits are shortened 100× (fastClock) and `Date.now` runs ahead on demand
 * (the stale limit, the 15-minute OVERLOAD_LIMIT pause and the 10-minute operating-time window
 * pass in an instant), so the whole table runs in seconds.
 */
import { writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { FAILURE_REASONS, MonitorError, type FailureReason } from '../../src/b24/errors.js';
import type { PollReport } from '../../src/poll/report.js';
import { DEFAULT_OPERATING_LIMIT, FORCED_ERRORS } from '../../src/sim/index.js';
import { useClockAhead } from '../helpers/clock.js';
import { fastClock, issuedSecrets, READ_ONLY, startHarness } from '../helpers/harness.js';
import type { Harness } from '../helpers/harness.js';
import { scanLogsForSecretsAfterAll } from '../helpers/leaks.js';
import type { LogLine } from '../helpers/logs.js';
import { select, valueOf, type Sample } from '../helpers/promText.js';
import { messagesOf, scanTextsForSecretsAfterAll, watchTokens } from './support.js';

const errorMessages: string[] = [];
scanLogsForSecretsAfterAll();
scanTextsForSecretsAfterAll(errorMessages);

const PORTAL = 'portal';
const STALE_AFTER_MS = 60_000;
/** Past the stale limit, the OVERLOAD_LIMIT pause (15 min) and an operating window (10 min). */
const JUMP_MS = 16 * 60_000;
/**
 * The poll deadline. Retry decisions compare the unshortened waits (1, 2, 4 s) with it, so it
 * must leave room for three retries; rows whose portal never answers use a short one.
 */
const POLL_TIMEOUT_MS = 10_000;
const SHORT_POLL_TIMEOUT_MS = 1_500;
const REQUEST_TIMEOUT_MS = 400;

const clock = useClockAhead();
let harness: Harness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

type Outcome =
  | {
      readonly ok: false;
      readonly reason: FailureReason;
      readonly code: string;
      readonly apiCode?: string;
      /** The fixed `msg` of the poll's failure line: the cause and its fix. */
      readonly msg: string | RegExp;
      /** The line tells the operator to re-authorize (and only then says so). @default false */
      readonly reauthorize?: boolean;
      /** @default 'warn' for the plain POLL_FAILED, else 'error' */
      readonly level?: 'warn' | 'error';
      /** What the line's `error` field says. */
      readonly says: RegExp;
    }
  | {
      /** The fault is absorbed: retries, a refresh, a tolerated type. */
      readonly ok: true;
      /** Lines the absorbed fault must leave (msg → level). */
      readonly leaves: Readonly<Record<string, string>>;
    };

/** The cases of issue 5, word for word. */
const ISSUE_CASES = [
  '500s on 30 % of calls',
  'connections reset',
  'a portal that accepts and never answers',
  '503 bursts',
  '429 OPERATION_TIME_LIMIT with operating_reset_at',
  'OVERLOAD_LIMIT',
  'expired_token in the middle of a scan',
  'invalid_grant on refresh',
  'the token endpoint down',
  'malformed JSON',
  'fields of the wrong type',
  'a body far larger than any page',
  'PORTAL_DELETED',
  'WRONG_AUTH_TYPE',
  'ACCESS_DENIED (not an administrator)',
  // issue 8: failure reasons an operator can act on
  'WRONG_LICENSE',
  '401 ACCESS_DENIED (REST only on commercial plans)',
  'PAYMENT_REQUIRED from the OAuth server',
  '401 CONNECTION_ERROR',
  '401 APPLICATION_NOT_FOUND',
  '401 authorization_error',
  '401 user_access_error',
  'insufficient_scope',
] as const;

interface FaultRow {
  readonly name: string;
  /** The case of the issue this row covers. */
  readonly covers: (typeof ISSUE_CASES)[number];
  readonly fault: (h: Harness) => void | Promise<void>;
  /** @default portal.faults.reset() */
  readonly clear?: (h: Harness) => void | Promise<void>;
  readonly outcome: Outcome;
  /** @default POLL_TIMEOUT_MS */
  readonly pollTimeoutMs?: number;
  /** Polls made under the fault (each must have the outcome). @default 1 */
  readonly polls?: number;
  /** Other warn/error lines the fault may cause on the way (retries, refresh failures). */
  readonly alsoLogged?: readonly string[];
  /** Extra checks after the failed poll. */
  readonly after?: (h: Harness, report: PollReport, samples: Sample[]) => void | Promise<void>;
}

const POLL_FAILED = 'Poll failed';
const PAUSED = /^Poll failed: the portal's REST API is blocked by hand, polling paused/;
const OPERATING = /^Poll failed: the method's operating time is used up until its reset/;
const RETRYING = 'Retrying Bitrix24 request';
const REFRESH_FAILED = 'Token refresh failed';
const REFRESH_REFUSED = 'Token refresh refused: the application must be re-authorized';

function failed(
  reason: FailureReason,
  code: string,
  says: RegExp,
  extra: {
    apiCode?: string;
    msg?: string | RegExp;
    reauthorize?: boolean;
    level?: 'warn' | 'error';
  } = {},
): Outcome {
  return { ok: false, reason, code, says, msg: extra.msg ?? POLL_FAILED, ...extra };
}

function forced(status: number, code: string, description: string, method?: string) {
  return (h: Harness) =>
    h.portal.faults.set({
      forcedError: { status, code, description, ...(method === undefined ? {} : { method }) },
    });
}

/** Only expired_token (and once invalid_token) call for a refresh: other refusals do not. */
function noRefresh(_h: Harness, _report: PollReport, samples: Sample[]): void {
  expect(valueOf(samples, 'b24_offline_oauth_refreshes_total', { portal: PORTAL })).toBe(0);
  expect(valueOf(samples, 'b24_offline_oauth_refresh_failures_total', { portal: PORTAL })).toBe(0);
}

/** A refusal of the real server, as the simulator words it, on every call. */
function preset(name: keyof typeof FORCED_ERRORS) {
  return (h: Harness) => h.portal.faults.set({ forcedError: FORCED_ERRORS[name] });
}

function wrongType(fault: 'totalObject' | 'resultObject' | 'rowIdNull' | 'errorBoolean') {
  return (h: Harness) => h.portal.faults.set({ wrongTypes: [fault] });
}

function journalLength(h: Harness): number {
  return h.portal.journal.list({ holder: 'monitor' }).length;
}

const ROWS: readonly FaultRow[] = [
  {
    name: '500 INTERNAL_SERVER_ERROR on 30 % of calls',
    covers: '500s on 30 % of calls',
    fault: (h) => h.portal.faults.set({ errorRate: 0.3 }),
    // 5 polls of 3 requests: the retries (up to 3 per request) absorb the errors
    polls: 5,
    outcome: { ok: true, leaves: { [RETRYING]: 'warn' } },
    alsoLogged: [RETRYING],
    after: (_h, _report, samples) => {
      const errors = valueOf(samples, 'b24_offline_rest_errors_total', {
        portal: PORTAL,
        method: 'event.offline.list',
        code: 'INTERNAL_SERVER_ERROR',
      });
      expect(errors).toBeGreaterThan(0);
    },
  },
  {
    name: '500 INTERNAL_SERVER_ERROR on every call',
    covers: '500s on 30 % of calls',
    fault: (h) => h.portal.faults.set({ errorRate: 1 }),
    outcome: failed('api_error', 'B24_API_ERROR', /answered 500 INTERNAL_SERVER_ERROR/, {
      apiCode: 'INTERNAL_SERVER_ERROR',
    }),
    alsoLogged: [RETRYING],
  },
  {
    name: 'connections reset',
    covers: 'connections reset',
    fault: (h) => h.portal.faults.set({ resetRate: 1 }),
    outcome: failed('network', 'B24_NETWORK', /batch request to 127\.0\.0\.1:\d+ failed/),
    alsoLogged: [RETRYING],
  },
  {
    name: 'a portal that accepts and never answers',
    covers: 'a portal that accepts and never answers',
    fault: (h) => h.portal.faults.set({ hangRate: 1 }),
    pollTimeoutMs: SHORT_POLL_TIMEOUT_MS,
    outcome: failed('timeout', 'B24_TIMEOUT', /deadline|timed out|no complete answer/),
    alsoLogged: [RETRYING],
    after: (_h, report) => {
      // the poll deadline bounds it, not the four request timeouts of the retries
      expect(report.durationMs).toBeLessThan(SHORT_POLL_TIMEOUT_MS + 1_000);
    },
  },
  {
    name: '503 QUERY_LIMIT_EXCEEDED bursts',
    covers: '503 bursts',
    // the portal's own bucket, nearly full and draining very slowly: the batch passes, the next
    // pages are refused; the client backs off, retries three times, and gives up
    fault: (h) => h.portal.configure({ rateLimit: { capacity: 1, drainPerSecond: 0.001 } }),
    clear: (h) => h.portal.configure({ rateLimit: null }),
    outcome: failed('rate_limit', 'B24_API_ERROR', /503 QUERY_LIMIT_EXCEEDED/, {
      apiCode: 'QUERY_LIMIT_EXCEEDED',
    }),
    alsoLogged: [RETRYING],
  },
  {
    name: '429 OPERATION_TIME_LIMIT with operating_reset_at',
    covers: '429 OPERATION_TIME_LIMIT with operating_reset_at',
    // every event.offline.list costs 5 s of a 1 s budget: the batch's page passes, the next
    // page is refused until the window ends, 600 s later (time.operating_reset_at)
    fault: (h) =>
      h.portal.configure({ operatingLimit: { limitSec: 1, windowSec: 600, extraCostSec: 5 } }),
    clear: (h) => h.portal.configure({ operatingLimit: DEFAULT_OPERATING_LIMIT }),
    outcome: failed('operating_limit', 'B24_API_ERROR', /429 OPERATION_TIME_LIMIT/, {
      apiCode: 'OPERATION_TIME_LIMIT',
      msg: OPERATING,
      level: 'warn',
    }),
    after: (h, report, samples) => {
      // the reset is 600 s away, past the poll's deadline: no wait, no retry, an honest reason
      expect(report.durationMs).toBeLessThan(1_000);
      expect(h.log.find(RETRYING)).toEqual([]);
      expect(
        valueOf(samples, 'b24_offline_rest_operating_seconds', {
          portal: PORTAL,
          method: 'event.offline.list',
        }),
      ).toBeGreaterThanOrEqual(5);
    },
  },
  {
    name: 'OVERLOAD_LIMIT',
    covers: 'OVERLOAD_LIMIT',
    fault: (h) => h.portal.configure({ overload: true }),
    clear: (h) => h.portal.configure({ overload: false }),
    outcome: failed('rate_limit', 'B24_API_ERROR', /503 OVERLOAD_LIMIT/, {
      apiCode: 'OVERLOAD_LIMIT',
      msg: PAUSED,
    }),
    after: async (h, report) => {
      expect(report.requests).toBe(1); // not retried
      const line = h.log.lines.find((l) => PAUSED.test(l.msg));
      expect(Date.parse(String(line?.['pausedUntil'])) - Date.now()).toBeGreaterThan(14 * 60_000);
      // lifted on the portal, but the monitor stays away for the pause: no request at all
      h.portal.configure({ overload: false });
      const calls = journalLength(h);
      const [paused] = await h.monitor.pollOnce();
      expect(paused).toMatchObject({ ok: false, skipped: 'paused', requests: 0 });
      expect(journalLength(h)).toBe(calls);
    },
  },
  {
    name: 'expired_token in the middle of a scan',
    covers: 'expired_token in the middle of a scan',
    // the batch (event.get + page 1) passes; every access token expires before page 2
    fault: (h) => h.portal.faults.set({ expireTokensAfterCalls: 1 }),
    outcome: { ok: true, leaves: { 'Access token refreshed': 'info' } },
    after: (h, _report, samples) => {
      expect(valueOf(samples, 'b24_offline_oauth_refreshes_total', { portal: PORTAL })).toBe(1);
      const statuses = h.portal.journal
        .list({ holder: 'monitor', viaBatch: false })
        .slice(-4)
        .map((e) => `${e.method} ${e.status}`);
      expect(statuses).toEqual([
        'batch 200',
        'event.offline.list 401',
        'event.offline.list 200',
        'event.offline.list 200',
      ]);
    },
  },
  {
    name: 'invalid_grant on refresh',
    covers: 'invalid_grant on refresh',
    fault: (h) => {
      h.portal.revokeRefreshTokens('monitor');
      h.portal.expireAccessTokens('monitor');
    },
    // an administrator authorizes the application again and puts the new token in the file;
    // the running monitor picks it up at its next refresh, without a restart
    clear: async (h) => {
      const pair = h.portal.authorize('monitor');
      issuedSecrets.add(pair.refreshToken).add(pair.accessToken);
      await writeFile(h.tokenFile, JSON.stringify({ refreshToken: pair.refreshToken }));
    },
    outcome: failed('auth', 'B24_AUTH', /invalid_grant.*re-authorize/, {
      apiCode: 'invalid_grant',
      msg: /^Poll failed: the refresh token was refused .*re-authorized/,
      reauthorize: true,
    }),
    alsoLogged: [REFRESH_REFUSED],
  },
  {
    name: 'the token endpoint down (500, HTML)',
    covers: 'the token endpoint down',
    fault: (h) => {
      h.portal.faults.set({ tokenEndpoint: 'error' });
      h.portal.expireAccessTokens('monitor');
    },
    outcome: failed('api_error', 'B24_API_ERROR', /oauth\/token answered 500 HTTP_500/, {
      apiCode: 'HTTP_500',
    }),
    alsoLogged: [REFRESH_FAILED, RETRYING],
  },
  {
    name: 'the token endpoint unreachable (connection reset)',
    covers: 'the token endpoint down',
    fault: (h) => {
      h.portal.faults.set({ tokenEndpoint: 'reset' });
      h.portal.expireAccessTokens('monitor');
    },
    outcome: failed('network', 'B24_NETWORK', /oauth\/token request to 127\.0\.0\.1:\d+ failed/),
    alsoLogged: [REFRESH_FAILED, RETRYING],
  },
  {
    name: 'the token endpoint accepts and never answers',
    covers: 'the token endpoint down',
    fault: (h) => {
      h.portal.faults.set({ tokenEndpoint: 'hang' });
      h.portal.expireAccessTokens('monitor');
    },
    pollTimeoutMs: SHORT_POLL_TIMEOUT_MS,
    outcome: failed('timeout', 'B24_TIMEOUT', /deadline|timed out|no complete answer/),
    alsoLogged: [REFRESH_FAILED, RETRYING],
  },
  {
    name: 'malformed JSON',
    covers: 'malformed JSON',
    fault: (h) => h.portal.faults.set({ malformedJsonRate: 1 }),
    outcome: failed('bad_response', 'B24_BAD_RESPONSE', /Bad answer to batch: not JSON/),
  },
  {
    name: 'wrong type: total is an object',
    covers: 'fields of the wrong type',
    fault: wrongType('totalObject'),
    outcome: failed('bad_response', 'B24_BAD_RESPONSE', /Bad answer to batch: unexpected shape/),
  },
  {
    name: 'wrong type: total is a numeric string (tolerated)',
    covers: 'fields of the wrong type',
    fault: (h) => h.portal.faults.set({ wrongTypes: ['totalString'] }),
    outcome: { ok: true, leaves: {} },
  },
  {
    name: 'wrong type: result is an object keyed 0..n',
    covers: 'fields of the wrong type',
    fault: wrongType('resultObject'),
    outcome: failed('bad_response', 'B24_BAD_RESPONSE', /Bad answer to event\.offline\.list/),
  },
  {
    name: 'wrong type: row ID is null',
    covers: 'fields of the wrong type',
    fault: wrongType('rowIdNull'),
    outcome: failed('bad_response', 'B24_BAD_RESPONSE', /event\.offline\.list: 0\.ID/),
  },
  {
    name: 'wrong type: ERROR is a boolean',
    covers: 'fields of the wrong type',
    fault: wrongType('errorBoolean'),
    outcome: failed('bad_response', 'B24_BAD_RESPONSE', /event\.offline\.list: 0\.ERROR/),
  },
  {
    name: 'wrong type: TIMESTAMP_X is not a date',
    covers: 'fields of the wrong type',
    fault: (h) => h.portal.faults.set({ wrongTypes: ['timestampGarbage'] }),
    outcome: failed(
      'bad_response',
      'B24_BAD_RESPONSE',
      /TIMESTAMP_X is not an ISO 8601 date with an offset/,
    ),
  },
  {
    name: 'a body far larger than any page',
    covers: 'a body far larger than any page',
    fault: (h) => h.portal.faults.set({ hugeBodyRate: 1, hugeBodyBytes: 12 * 1024 * 1024 }),
    outcome: failed('bad_response', 'B24_BAD_RESPONSE', /larger than 8388608 bytes/),
  },
  {
    name: 'PORTAL_DELETED',
    covers: 'PORTAL_DELETED',
    fault: forced(500, 'PORTAL_DELETED', 'Portal was deleted'),
    outcome: failed('api_error', 'B24_API_ERROR', /500 PORTAL_DELETED/, {
      apiCode: 'PORTAL_DELETED',
    }),
    after: (_h, report) => expect(report.requests).toBe(1), // a 500 that no retry can fix
  },
  {
    name: 'WRONG_AUTH_TYPE',
    covers: 'WRONG_AUTH_TYPE',
    fault: preset('wrongAuthType'),
    outcome: failed('forbidden', 'B24_API_ERROR', /403 WRONG_AUTH_TYPE/, {
      apiCode: 'WRONG_AUTH_TYPE',
      msg: /^Poll failed: this kind of authorization may not read the queue \(a webhook\?\)/,
    }),
    after: noRefresh,
  },
  {
    name: 'ACCESS_DENIED (not an administrator)',
    covers: 'ACCESS_DENIED (not an administrator)',
    // what the portal answers a non-administrator's token, per command inside the batch
    fault: (h) =>
      h.portal.faults.set({
        forcedError: { ...FORCED_ERRORS.notAdministrator, method: 'event.offline.list' },
      }),
    outcome: failed('forbidden', 'B24_API_ERROR', /ACCESS_DENIED: Access denied/, {
      apiCode: 'ACCESS_DENIED',
      msg: /^Poll failed: the user who authorized the monitor is not an administrator .*re-authorized/,
      reauthorize: true,
    }),
    after: noRefresh,
  },
  {
    name: 'WRONG_LICENSE (a plan without connectors)',
    covers: 'WRONG_LICENSE',
    fault: preset('wrongLicense'),
    outcome: failed('license', 'B24_API_ERROR', /403 WRONG_LICENSE/, {
      apiCode: 'WRONG_LICENSE',
      msg: /^Poll failed: the portal's plan lacks connectors \(Professional and above\): upgrade the plan, or unset B24_AUTH_CONNECTOR/,
    }),
    after: noRefresh,
  },
  {
    name: '401 ACCESS_DENIED (REST only on commercial plans)',
    covers: '401 ACCESS_DENIED (REST only on commercial plans)',
    fault: preset('restOnlyOnCommercialPlans'),
    outcome: failed('license', 'B24_API_ERROR', /401 ACCESS_DENIED/, {
      apiCode: 'ACCESS_DENIED',
      msg: /^Poll failed: the portal's plan has no REST API \(commercial plans only\): move the portal to a paid plan; no new authorization is needed/,
    }),
    after: noRefresh,
  },
  {
    name: 'PAYMENT_REQUIRED from the OAuth server',
    covers: 'PAYMENT_REQUIRED from the OAuth server',
    fault: (h) => {
      h.portal.faults.set({ tokenEndpointError: FORCED_ERRORS.paymentRequired });
      h.portal.expireAccessTokens('monitor');
    },
    outcome: failed('payment', 'B24_AUTH', /PAYMENT_REQUIRED.*subscription has lapsed/, {
      apiCode: 'PAYMENT_REQUIRED',
      msg: /^Poll failed: the application's subscription has lapsed: renew it; the token pair stays valid, no new authorization is needed/,
    }),
    alsoLogged: ["Token refresh refused: the application's subscription lapsed"],
  },
  {
    name: '401 CONNECTION_ERROR',
    covers: '401 CONNECTION_ERROR',
    fault: preset('connectionError'),
    outcome: failed('auth', 'B24_API_ERROR', /401 CONNECTION_ERROR/, {
      apiCode: 'CONNECTION_ERROR',
      msg: /^Poll failed: the portal could not check the token with the OAuth server/,
    }),
    after: noRefresh,
  },
  {
    name: '401 APPLICATION_NOT_FOUND',
    covers: '401 APPLICATION_NOT_FOUND',
    fault: preset('applicationNotFound'),
    outcome: failed('auth', 'B24_API_ERROR', /401 APPLICATION_NOT_FOUND/, {
      apiCode: 'APPLICATION_NOT_FOUND',
      msg: /^Poll failed: the application is not installed on the portal: install it again, then the application must be re-authorized/,
      reauthorize: true,
    }),
    after: noRefresh,
  },
  {
    name: '401 authorization_error',
    covers: '401 authorization_error',
    fault: preset('authorizationError'),
    outcome: failed('auth', 'B24_API_ERROR', /401 authorization_error/, {
      apiCode: 'authorization_error',
      msg: /^Poll failed: the portal refused the authorization: check that the application is installed and active/,
    }),
    after: noRefresh,
  },
  {
    name: '401 user_access_error',
    covers: '401 user_access_error',
    fault: preset('userAccessError'),
    outcome: failed('auth', 'B24_API_ERROR', /401 user_access_error/, {
      apiCode: 'user_access_error',
      msg: /^Poll failed: the user who authorized the monitor has no access to the application: give them access/,
    }),
    after: noRefresh,
  },
  {
    name: 'insufficient_scope',
    covers: 'insufficient_scope',
    fault: forced(403, 'insufficient_scope', 'The request requires higher privileges'),
    outcome: failed('forbidden', 'B24_API_ERROR', /403 insufficient_scope/, {
      apiCode: 'insufficient_scope',
      msg: /^Poll failed: the application lacks a scope the event methods need/,
    }),
    after: noRefresh,
  },
];

/** Queue gauges of the portal: what must be kept after a failure and removed once stale. */
const QUEUE_METRICS = [
  'b24_offline_events',
  'b24_offline_queue_depth',
  'b24_offline_oldest_event_timestamp_seconds',
  'b24_offline_events_older_than',
];

function queueSeries(samples: readonly Sample[]): Sample[] {
  return samples.filter((s) => QUEUE_METRICS.includes(s.name) && s.labels['portal'] === PORTAL);
}

/** Warn and error lines other than the poll's own failure line and those the row allows. */
function unexpectedWarnings(lines: readonly LogLine[], row: FaultRow): string[] {
  return lines
    .filter((line) => line.level === 'warn' || line.level === 'error')
    .map((line) => line.msg)
    .filter((msg) => !msg.startsWith(POLL_FAILED) && !(row.alsoLogged ?? []).includes(msg));
}

async function readyz(h: Harness): Promise<{ status: number; body: string }> {
  const response = await fetch(`${h.server?.url}/readyz`);
  return { status: response.status, body: await response.text() };
}

describe('fault matrix', () => {
  it('covers every case of the issue', () => {
    expect(new Set(ROWS.map((row) => row.covers))).toEqual(new Set(ISSUE_CASES));
  });

  it.each(ROWS.map((row) => [row.name, row] as const))('%s', async (_name, row) => {
    harness = await startHarness({
      portal: { events: ['ONCRMLEADADD', 'ONCRMDEALADD'] },
      env: {
        MONITOR_STRATEGY: 'scan',
        MONITOR_POLL_TIMEOUT: String(row.pollTimeoutMs ?? POLL_TIMEOUT_MS),
        MONITOR_REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_MS),
        MONITOR_STALE_AFTER: String(STALE_AFTER_MS),
      },
      clock: fastClock,
    });
    const h = harness;
    watchTokens(h.sim);
    h.portal.fill({
      counts: {
        ONCRMLEADADD: { queued: 90, reserved: 12, error: 8 },
        ONCRMDEALADD: { queued: 10 },
      },
    });
    const [first] = await h.monitor.pollOnce();
    const good = await h.scrape();
    expect(first?.ok).toBe(true);
    expect(valueOf(good, 'b24_offline_queue_depth', { portal: PORTAL })).toBe(120);
    const mark = h.log.lines.length;

    await row.fault(h);
    let report: PollReport | undefined;
    for (let i = 0; i < (row.polls ?? 1); i += 1) {
      [report] = await h.monitor.pollOnce();
      if (report?.ok !== true) break;
    }
    const during = await h.scrape();

    if (report === undefined) throw new Error('no report');
    const lines = h.log.lines.slice(mark);
    const expected = row.outcome;
    if (!expected.ok) {
      // the poll's outcome
      expect(report.ok).toBe(false);
      expect(report.error).toBeInstanceOf(MonitorError);
      errorMessages.push(...messagesOf(report.error));
      expect(report.error).toMatchObject({ reason: expected.reason, code: expected.code });
      if (expected.apiCode !== undefined)
        expect(report.error).toMatchObject({ apiCode: expected.apiCode });

      // /metrics: down, the last good queue values, one failure of that reason
      const v = (name: string, labels: Record<string, string> = {}) =>
        valueOf(during, name, { portal: PORTAL, ...labels });
      expect(v('b24_offline_up')).toBe(0);
      expect(queueSeries(during)).toEqual(queueSeries(good));
      expect(v('b24_offline_last_success_timestamp_seconds')).toBe(
        valueOf(good, 'b24_offline_last_success_timestamp_seconds', { portal: PORTAL }),
      );
      expect(v('b24_offline_poll_failures_total', { reason: expected.reason })).toBe(1);
      expect(
        select(during, 'b24_offline_poll_failures_total', { portal: PORTAL })
          .filter((s) => s.labels['reason'] !== expected.reason)
          .map((s) => s.value),
      ).toEqual(Array.from({ length: FAILURE_REASONS.length - 1 }, () => 0));

      // one clear line for the failure: fixed msg, details as fields
      const failures = lines.filter((line) => line.msg.startsWith(POLL_FAILED));
      expect(failures).toHaveLength(1);
      const [line] = failures;
      expect(line).toMatchObject({
        level: expected.level ?? (expected.msg === POLL_FAILED ? 'warn' : 'error'),
        msg: typeof expected.msg === 'string' ? expected.msg : expect.stringMatching(expected.msg),
        reauthorize: expected.reauthorize ?? false,
        portal: PORTAL,
        reason: expected.reason,
        code: expected.code,
        ...(expected.apiCode === undefined ? {} : { apiCode: expected.apiCode }),
      });
      expect(String(line?.['error'])).toMatch(expected.says);
      // re-authorizing is asked for exactly where it is the fix
      expect(/re-authoriz/.test(String(line?.msg))).toBe(expected.reauthorize ?? false);
      expect(typeof line?.['durationMs']).toBe('number');
      expect(unexpectedWarnings(lines, row)).toEqual([]);
      await row.after?.(h, report, during);

      // once stale, the queue gauges are removed rather than served as fresh
      await (row.clear ?? ((x: Harness) => x.portal.faults.reset()))(h);
      clock.advance(JUMP_MS);
      const stale = await h.scrape();
      expect(queueSeries(stale)).toEqual([]);
      expect(valueOf(stale, 'b24_offline_up', { portal: PORTAL })).toBe(0);
      expect(
        h.log.find('Queue metrics removed: no successful poll within the stale limit'),
      ).toEqual([
        expect.objectContaining({ level: 'warn', portal: PORTAL, staleAfterMs: STALE_AFTER_MS }),
      ]);
      const ready = await readyz(h);
      expect(ready.status).toBe(503);
      expect(ready.body).toContain('last successful poll is stale');
    } else {
      expect(report.error === undefined ? [] : messagesOf(report.error)).toEqual([]);
      expect(report.ok).toBe(true);
      expect(valueOf(during, 'b24_offline_up', { portal: PORTAL })).toBe(1);
      expect(valueOf(during, 'b24_offline_queue_depth', { portal: PORTAL })).toBe(120);
      for (const [msg, level] of Object.entries(expected.leaves)) {
        expect(lines.filter((l) => l.msg === msg).length, msg).toBeGreaterThan(0);
        expect(lines.find((l) => l.msg === msg)?.level).toBe(level);
      }
      expect(lines.filter((line) => line.msg.startsWith(POLL_FAILED))).toEqual([]);
      expect(unexpectedWarnings(lines, row)).toEqual([]);
      await row.after?.(h, report, during);
      await (row.clear ?? ((x: Harness) => x.portal.faults.reset()))(h);
    }

    // recovery: the next poll succeeds and serves fresh values
    h.portal.add({ eventName: 'ONCRMLEADADD' });
    const [next] = await h.monitor.pollOnce();
    const after = await h.scrape();
    expect(next?.error === undefined ? [] : messagesOf(next.error)).toEqual([]);
    expect(next?.ok).toBe(true);
    expect(valueOf(after, 'b24_offline_up', { portal: PORTAL })).toBe(1);
    expect(valueOf(after, 'b24_offline_queue_depth', { portal: PORTAL })).toBe(121);
    expect(
      valueOf(after, 'b24_offline_events', {
        portal: PORTAL,
        event_name: 'ONCRMLEADADD',
        status: 'queued',
      }),
    ).toBe(91);
    expect((await readyz(h)).status).toBe(200);

    // read-only throughout
    const called = new Set(h.portal.journal.methodsBy('monitor'));
    expect([...called].filter((method) => !READ_ONLY.has(method))).toEqual([]);
  });
});
