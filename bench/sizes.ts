/**
 * The queue-size benchmarks (parent side): for each size, portals on the local simulated portal
 * without rate limit, our monitor's scan and count strategies in fresh child processes, and the
 * official SDK listing the same queue over HTTPS. Every snapshot is checked against the
 * portal's ground truth, and every request count against the portal's journal.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { SimPortal, SimServer } from '../src/sim/index.js';
import { runChild } from './children.js';
import type { BenchStrategy, PollMark, PollResult, PortalAccess, SdkResult } from './protocol.js';
import { EVENT_NAMES_16, EVENT_NAMES_8, fillSpec, formatRows } from './queueShape.js';
import { difference, type SnapshotJson } from './snapshotJson.js';
import { median, round } from './stats.js';

/** The portal's own bucket: drains 2 requests/s, holds 50. */
const PORTAL_RATE_PER_S = 2;
const PORTAL_BURST = 50;
const PAGE_SIZE = 50;

/** Seconds `requests` take at the portal's 2 requests/s: plain, and after a full 50-request burst. */
function atPortalRate(requests: number): { plainS: number; afterBurstS: number } {
  return {
    plainS: requests / PORTAL_RATE_PER_S,
    afterBurstS: Math.max(0, requests - PORTAL_BURST) / PORTAL_RATE_PER_S,
  };
}

export interface StrategyResult {
  readonly label: string;
  readonly strategy: BenchStrategy;
  /** What the polls used (auto picks one). */
  readonly used: string;
  readonly transport: 'http' | 'https';
  readonly eventNames: number;
  readonly runs: number;
  readonly ok: boolean;
  /** HTTP requests of each poll (`PollReport.requests`). */
  readonly requestsPerPoll: readonly number[];
  /** The first poll (a fresh poller that knows no event names yet). */
  readonly requestsFirst: number;
  /** The largest of the later polls. */
  readonly requestsSteady: number;
  /** HTTP requests the portal's journal recorded for this child, all polls together. */
  readonly journalRequests: number;
  readonly reportedRequests: number;
  readonly journalAgrees: boolean;
  /** ceil(rows / 50): the fewest pages a listing can take. */
  readonly minimumPages: number;
  readonly wallMsPerPoll: readonly number[];
  /** Median of the polls after the first (all polls when there is only one). */
  readonly wallMsMedian: number;
  readonly at2PerSecondS: number;
  readonly at2PerSecondAfterBurstS: number;
  readonly peakRssMb: number;
  readonly baselineRssMb: number;
  /**
   * Time the bench's own process (the simulated portal) was busy during each poll: the
   * portal's side of it (event-loop utilisation, `active`, between the child's poll marks).
   */
  readonly simBusyMsPerPoll: readonly number[];
  /** Median of the polls after the first, like `wallMsMedian`. */
  readonly simBusyMsMedian: number;
  /** Every poll's snapshot equals `portal.truth(takenAt)`. */
  readonly equal: boolean;
  readonly firstDifference: string | null;
  readonly errors: readonly string[];
}

export interface SdkSummary {
  readonly transport: 'https';
  readonly runs: number;
  readonly requests: number;
  readonly journalRequests: number;
  readonly journalAgrees: boolean;
  readonly rows: number;
  readonly wallMsPerRun: readonly number[];
  readonly wallMsMedian: number;
  readonly at2PerSecondS: number;
  readonly at2PerSecondAfterBurstS: number;
  readonly peakRssMb: number;
  readonly baselineRssMb: number;
  readonly equal: boolean;
  readonly firstDifference: string | null;
}

export interface SizeResult {
  readonly rows: number;
  readonly label: string;
  readonly fillMs: number;
  readonly scan: StrategyResult;
  readonly count: StrategyResult;
  /** The count strategy on a queue of the same size with 16 event names. */
  readonly count16: StrategyResult;
  /** The adaptive strategy (scan up to 5,000 rows, count beyond), as configured by default. */
  readonly auto: StrategyResult;
  /** Our strategies through the same HTTPS proxy as the SDK, for a like-for-like wall time. */
  readonly scanHttps: StrategyResult | null;
  readonly countHttps: StrategyResult | null;
  readonly sdk: SdkSummary | { readonly skipped: string } | null;
}

export interface SizeContext {
  readonly sim: SimServer;
  readonly tmp: string;
  /** `https://127.0.0.1:PORT` in front of the sim, and the CA file a child must trust. */
  readonly https: { readonly url: string; readonly caFile: string } | null;
  /** Wall time of one SDK listing at 100k rows, to decide whether 1M is worth running. */
  sdkMsPerRow: number | null;
  /** Largest SDK listing to attempt, in expected seconds. */
  readonly sdkBudgetS: number;
  readonly log: (line: string) => void;
}

let holders = 0;

function access(
  ctx: SizeContext,
  portal: SimPortal,
  holder: string,
  viaHttps: boolean,
): PortalAccess {
  const pair = portal.authorize(holder);
  const restUrl =
    viaHttps && ctx.https !== null ? `${ctx.https.url}/${portal.id}/rest/` : portal.restUrl;
  return {
    restUrl,
    oauthUrl: ctx.sim.oauthUrl,
    clientId: portal.clientId,
    clientSecret: portal.clientSecret,
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    expires: pair.expires,
  };
}

function journalRequests(portal: SimPortal, holder: string): number {
  return portal.journal.list({ holder, viaBatch: false }).length;
}

function compare(
  portal: SimPortal,
  snapshots: readonly (SnapshotJson | null)[],
): { equal: boolean; firstDifference: string | null } {
  for (const snapshot of snapshots) {
    if (snapshot === null) return { equal: false, firstDifference: 'poll failed: no snapshot' };
    const found = difference(snapshot, portal.truth(snapshot.takenAt));
    if (found !== null) return { equal: false, firstDifference: found };
  }
  return { equal: true, firstDifference: null };
}

async function measureStrategy(
  ctx: SizeContext,
  portal: SimPortal,
  rows: number,
  eventNames: number,
  strategy: BenchStrategy,
  runs: number,
  viaHttps: boolean,
): Promise<StrategyResult> {
  const holder = `bench-${strategy}-${++holders}`;
  const simBusy: number[] = [];
  let pollStart = performance.eventLoopUtilization();
  const onMark = (mark: PollMark) => {
    if (mark.phase === 'start') pollStart = performance.eventLoopUtilization();
    else simBusy[mark.run] = round(performance.eventLoopUtilization(pollStart).active, 2);
  };
  const label = `${strategy}${viaHttps ? ' (https)' : ''}`;
  const result: PollResult = await runChild(
    {
      kind: 'poll',
      portal: access(ctx, portal, holder, viaHttps),
      strategy,
      runs,
      tokenFile: join(ctx.tmp, `${holder}.tokens.json`),
    },
    'poll',
    viaHttps && ctx.https !== null
      ? { env: { NODE_EXTRA_CA_CERTS: ctx.https.caFile }, onMark }
      : { onMark },
  );
  const requestsPerPoll = result.runs.map((run) => run.requests);
  const wallMsPerPoll = result.runs.map((run) => round(run.wallMs, 2));
  const later = wallMsPerPoll.length > 1 ? wallMsPerPoll.slice(1) : wallMsPerPoll;
  const reportedRequests = requestsPerPoll.reduce((a, b) => a + b, 0);
  const journal = journalRequests(portal, holder);
  const steady = requestsPerPoll.length > 1 ? requestsPerPoll.slice(1) : requestsPerPoll;
  const { equal, firstDifference } = compare(
    portal,
    result.runs.map((run) => run.snapshot),
  );
  const requestsSteady = Math.max(...steady);
  const rate = atPortalRate(requestsSteady);
  return {
    label,
    strategy,
    used: [...new Set(result.runs.map((run) => run.strategy ?? 'failed'))].join('→'),
    transport: viaHttps ? 'https' : 'http',
    eventNames,
    runs,
    ok: result.runs.every((run) => run.ok),
    requestsPerPoll,
    requestsFirst: requestsPerPoll[0] ?? 0,
    requestsSteady,
    journalRequests: journal,
    reportedRequests,
    journalAgrees: journal === reportedRequests,
    minimumPages: Math.ceil(rows / PAGE_SIZE),
    wallMsPerPoll,
    wallMsMedian: round(median(later), 2),
    at2PerSecondS: rate.plainS,
    at2PerSecondAfterBurstS: rate.afterBurstS,
    peakRssMb: result.maxRssMb,
    baselineRssMb: result.baselineRssMb,
    simBusyMsPerPoll: simBusy,
    simBusyMsMedian: round(median(simBusy.length > 1 ? simBusy.slice(1) : simBusy), 2),
    equal,
    firstDifference,
    errors: result.runs.flatMap((run) => (run.error === undefined ? [] : [run.error])),
  };
}

async function measureSdk(
  ctx: SizeContext,
  portal: SimPortal,
  rows: number,
  runs: number,
): Promise<SdkSummary | { skipped: string }> {
  if (ctx.https === null) return { skipped: 'no HTTPS proxy (openssl missing)' };
  if (ctx.sdkMsPerRow !== null) {
    const expectedS = (ctx.sdkMsPerRow * rows) / 1000;
    if (expectedS > ctx.sdkBudgetS) {
      return {
        skipped: `expected ≈ ${Math.round(expectedS)} s (from the smaller queues), over the ${ctx.sdkBudgetS} s budget`,
      };
    }
  }
  const holder = `bench-sdk-${++holders}`;
  const result: SdkResult = await runChild(
    {
      kind: 'sdk',
      portal: access(ctx, portal, holder, true),
      domain: portal.domain,
      memberId: portal.memberId,
      eventNames: [...EVENT_NAMES_8],
      runs,
    },
    'sdk',
    { env: { NODE_EXTRA_CA_CERTS: ctx.https.caFile } },
  );
  const requests = Math.max(...result.runs.map((run) => run.requests));
  const journal = journalRequests(portal, holder);
  const wallMsPerRun = result.runs.map((run) => round(run.wallMs, 2));
  const wallMsMedian = median(wallMsPerRun);
  ctx.sdkMsPerRow = wallMsMedian / rows;
  const { equal, firstDifference } = compare(
    portal,
    result.runs.map((run) => run.snapshot),
  );
  const rate = atPortalRate(requests);
  return {
    transport: 'https',
    runs,
    requests,
    journalRequests: journal,
    journalAgrees: journal === result.runs.reduce((sum, run) => sum + run.requests, 0),
    rows: Math.max(...result.runs.map((run) => run.rows)),
    wallMsPerRun,
    wallMsMedian: round(wallMsMedian, 2),
    at2PerSecondS: rate.plainS,
    at2PerSecondAfterBurstS: rate.afterBurstS,
    peakRssMb: result.maxRssMb,
    baselineRssMb: result.baselineRssMb,
    equal,
    firstDifference,
  };
}

export interface SizePlan {
  readonly rows: number;
  readonly scanRuns: number;
  readonly countRuns: number;
  readonly sdkRuns: number;
  /** Polls of our scan over HTTPS (the first is a warm-up unless it is the only one). */
  readonly scanHttpsRuns: number;
  readonly sdk: boolean;
  /** Also run our strategies over the SDK's HTTPS proxy. */
  readonly ourHttps: boolean;
}

export async function measureSize(ctx: SizeContext, plan: SizePlan): Promise<SizeResult> {
  const { rows } = plan;
  const label = formatRows(rows);
  const options = { rateLimit: null, operatingLimit: null, journalCapacity: 1_000_000 };
  const started = performance.now();
  const portal = ctx.sim.addPortal(`q${label}`, { ...options, events: EVENT_NAMES_8 });
  portal.fill(fillSpec(rows, EVENT_NAMES_8, Date.now()));
  const portal16 = ctx.sim.addPortal(`q${label}x16`, { ...options, events: EVENT_NAMES_16 });
  portal16.fill(fillSpec(rows, EVENT_NAMES_16, Date.now()));
  const fillMs = round(performance.now() - started, 1);
  try {
    ctx.log(`${label}: scan`);
    const scan = await measureStrategy(ctx, portal, rows, 8, 'scan', plan.scanRuns, false);
    ctx.log(`${label}: count`);
    const count = await measureStrategy(ctx, portal, rows, 8, 'count', plan.countRuns, false);
    ctx.log(`${label}: count, 16 event names`);
    const count16 = await measureStrategy(ctx, portal16, rows, 16, 'count', plan.countRuns, false);
    ctx.log(`${label}: auto`);
    const auto = await measureStrategy(ctx, portal, rows, 8, 'auto', plan.countRuns, false);
    let sdk: SizeResult['sdk'] = null;
    let scanHttps: StrategyResult | null = null;
    let countHttps: StrategyResult | null = null;
    if (plan.sdk) {
      ctx.log(`${label}: SDK`);
      sdk = await measureSdk(ctx, portal, rows, plan.sdkRuns);
      if (plan.ourHttps && ctx.https !== null && !('skipped' in sdk)) {
        ctx.log(`${label}: scan and count over HTTPS`);
        scanHttps = await measureStrategy(ctx, portal, rows, 8, 'scan', plan.scanHttpsRuns, true);
        countHttps = await measureStrategy(ctx, portal, rows, 8, 'count', plan.countRuns, true);
      }
    }
    return { rows, label, fillMs, scan, count, count16, auto, scanHttps, countHttps, sdk };
  } finally {
    ctx.sim.removePortal(portal.id);
    ctx.sim.removePortal(portal16.id);
  }
}
