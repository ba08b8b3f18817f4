/**
 * `npm run bench -- --sql`: what polls cost a real portal's database. Each queue lives in a
 * private MariaDB behind the SQL-backed simulated portal (src/sim/sql), filled with the
 * server's table; each plan polls it from a fresh child process with the monitor's default
 * timeouts. The portal's store times every list's queries (COUNT(*) and page) and reads the
 * session's Handler_read_* counters around them, so the figures are the server's own work,
 * including work a client stopped waiting for.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { PORTAL_DEFAULTS } from '../../src/config/load.js';
import type { SimPortal, SimServer } from '../../src/sim/index.js';
import { addSqlPortal, fillSqlQueue, startMariaDb, TABLE } from '../../src/sim/sql/index.js';
import type {
  MariaDb,
  QueueShape,
  SqlListTrace,
  SqlQueue,
  SqlWork,
} from '../../src/sim/sql/index.js';
import type { RowDataPacket } from 'mysql2/promise';
import { runChild } from '../children.js';
import type { PollMark, PollRun, PortalAccess } from '../protocol.js';
import { EVENT_NAMES_16, EVENT_NAMES_8, formatRows } from '../queueShape.js';
import { median, round } from '../stats.js';
import type { SqlPlan } from './plans.js';
import { steadyFigures, type SteadyFigures } from './steady.js';
import { traceLines } from './trace.js';

/** The schedule the share of wall time is computed for. */
export const SCHEDULE_S = 30;

export interface QueueCase {
  readonly rows: number;
  readonly names: number;
  readonly shape: QueueShape;
}

export interface PlanResult {
  readonly plan: string;
  readonly skipped?: string;
  readonly polls: number;
  readonly okPolls: number;
  readonly errors: readonly string[];
  /** HTTP requests of each poll (`PollReport.requests`; the SDK's own count). */
  readonly requestsPerPoll: readonly number[];
  /** Database seconds of the whole run (drained) over its polls: the sum of `processing`. */
  readonly dbSecondsPerPoll: number;
  /** Wall seconds with at least one list running, over the polls (overlapping lists once). */
  readonly busySecondsPerPoll: number;
  /** Database seconds between each poll's start and end marks (monitor plans). */
  readonly dbSecondsByPoll: readonly number[];
  readonly listsPerPoll: number;
  /** Handler_read_* sum per poll: rows the server read. */
  readonly rowsReadPerPoll: number;
  readonly wallMsMedian: number;
  /** Database time per poll / 30 s, %. */
  readonly sharePercent: number;
  /** The last snapshot's depth equals the queue's rows (null: no snapshot). */
  readonly depthOk: boolean | null;
  /** On a simulated schedule (`--sql-interval`): the steady state's figures. */
  readonly steady?: SteadyFigures;
}

export interface CaseResult extends QueueCase {
  readonly label: string;
  readonly fillS: number;
  /** One `COUNT(*)` of the app's whole queue, median of 5, ms. */
  readonly countAllMs: number;
  readonly plans: readonly PlanResult[];
}

export interface SqlBenchContext {
  readonly sim: SimServer;
  readonly db: MariaDb;
  readonly tmp: string;
  /** HTTPS in front of the sim, for the SDK (null: no openssl). */
  readonly https: { readonly url: string; readonly caFile: string } | null;
  /** Skip a plan whose expected time at a size is longer. */
  readonly budgetS: number;
  /** Run listings (scan, SDK) on queues of more than 8 names too; their work ignores names. */
  readonly listingsOnEveryQueue: boolean;
  /** The monitor's clock moves this much from one poll to the next (null: the real clock). */
  readonly intervalMs: number | null;
  /** Print each list of a headline and a breakdown poll (`--sql-trace`). */
  readonly trace: boolean;
  readonly log: (line: string) => void;
}

const EMPTY: Omit<PlanResult, 'plan'> = {
  polls: 0,
  okPolls: 0,
  errors: [],
  requestsPerPoll: [],
  dbSecondsPerPoll: NaN,
  busySecondsPerPoll: NaN,
  dbSecondsByPoll: [],
  listsPerPoll: NaN,
  rowsReadPerPoll: NaN,
  wallMsMedian: NaN,
  sharePercent: NaN,
  depthOk: null,
};

async function drained(queue: SqlQueue): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (queue.work.inFlight > 0 && Date.now() < deadline) await delay(100);
}

let holders = 0;

function access(ctx: SqlBenchContext, portal: SimPortal, holder: string, https: boolean) {
  const pair = portal.authorize(holder);
  const restUrl =
    https && ctx.https !== null ? `${ctx.https.url}/${portal.id}/rest/` : portal.restUrl;
  return {
    restUrl,
    oauthUrl: ctx.sim.oauthUrl,
    clientId: portal.clientId,
    clientSecret: portal.clientSecret,
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    expires: pair.expires,
  } satisfies PortalAccess;
}

interface RunFigures {
  readonly polls: number;
  readonly okPolls: number;
  readonly errors: readonly string[];
  readonly requestsPerPoll: readonly number[];
  readonly dbSecondsByPoll: readonly number[];
  readonly wallMs: readonly number[];
  readonly depths: readonly number[];
  readonly runs: readonly PollRun[];
  /** One `COUNT(*)` of the queue around each poll (mean of 2 before and 2 after), ms (schedule only). */
  readonly baselineMs: readonly number[];
  /** Rows the server read (Handler_read_*) between each poll's start and end marks. */
  readonly readsByPoll: readonly number[];
}

async function runMonitor(
  ctx: SqlBenchContext,
  portal: SimPortal,
  queue: SqlQueue,
  plan: SqlPlan,
): Promise<RunFigures> {
  const holder = `sql-${plan.name}-${++holders}`;
  const byPoll: number[] = [];
  const lists: SqlListTrace[][] = [];
  let current: SqlListTrace[] | null = null;
  if (ctx.trace) queue.trace = (entry) => current?.push(entry);
  let atStart = queue.workNow().seconds;
  // On a schedule, two COUNT(*)s of the queue just before and two just after each poll: the
  // headline's yardstick under the load of the poll's moment (run by the bench while the
  // child waits, not charged to the monitor; two on each side so that one count that
  // happened to run alone on the machine does not set it).
  const steady = ctx.intervalMs !== null;
  const baselines: number[] = [];
  const before: number[] = [];
  const readsByPoll: number[] = [];
  let readsAtStart = 0;
  const yardstick = async () => (await countOnceMs(queue)) + (await countOnceMs(queue));
  const onMark = async (mark: PollMark) => {
    if (mark.phase === 'start') {
      if (steady) before[mark.run] = await yardstick();
      atStart = queue.workNow().seconds;
      readsAtStart = queue.workNow().handlerReads;
      current = lists[mark.run] = [];
    } else {
      byPoll[mark.run] = round(queue.workNow().seconds - atStart, 3);
      readsByPoll[mark.run] = queue.workNow().handlerReads - readsAtStart;
      current = null;
      // the mean of the counts just before and just after: the load of the poll's moment
      const first = before[mark.run];
      if (steady && first !== undefined) baselines[mark.run] = (first + (await yardstick())) / 4;
    }
  };
  const result = await runChild(
    {
      kind: 'poll',
      portal: access(ctx, portal, holder, false),
      strategy: plan.name,
      runs: plan.polls,
      tokenFile: join(ctx.tmp, `${holder}.tokens.json`),
      // a real portal's poll must fit the defaults: no longer deadline than a user gets
      env: { MONITOR_POLL_TIMEOUT: String(PORTAL_DEFAULTS.pollTimeoutMs) },
      ...(ctx.intervalMs === null ? {} : { intervalMs: ctx.intervalMs, waitForGo: true }),
    },
    'poll',
    { onMark, goAfterMark: steady },
  );
  queue.trace = null;
  if (ctx.trace) {
    for (const line of traceLines(plan.name, result.runs, lists, baselines)) ctx.log(line);
  }
  return {
    polls: result.runs.length,
    okPolls: result.runs.filter((run) => run.ok).length,
    errors: [
      ...new Set(result.runs.flatMap((run) => (run.error === undefined ? [] : [run.error]))),
    ],
    requestsPerPoll: result.runs.map((run) => run.requests),
    dbSecondsByPoll: byPoll,
    wallMs: result.runs.map((run) => run.wallMs),
    depths: result.runs.flatMap((run) => (run.snapshot === null ? [] : [run.snapshot.depth])),
    runs: result.runs,
    baselineMs: baselines,
    readsByPoll,
  };
}

async function runSdk(
  ctx: SqlBenchContext,
  portal: SimPortal,
  names: readonly string[],
): Promise<RunFigures> {
  if (ctx.https === null) throw new Error('no HTTPS proxy');
  const result = await runChild(
    {
      kind: 'sdk',
      portal: access(ctx, portal, `sql-sdk-${++holders}`, true),
      domain: portal.domain,
      memberId: portal.memberId,
      eventNames: [...names],
      runs: 1,
    },
    'sdk',
    { env: { NODE_EXTRA_CA_CERTS: ctx.https.caFile }, timeoutMs: 1_800_000 },
  );
  return {
    polls: result.runs.length,
    okPolls: result.runs.length,
    errors: [],
    requestsPerPoll: result.runs.map((run) => run.requests),
    dbSecondsByPoll: [],
    wallMs: result.runs.map((run) => run.wallMs),
    depths: result.runs.map((run) => run.rows),
    runs: [],
    baselineMs: [],
    readsByPoll: [],
  };
}

async function measurePlan(
  ctx: SqlBenchContext,
  portal: SimPortal,
  queue: SqlQueue,
  rows: number,
  names: readonly string[],
  plan: SqlPlan,
  countReads: number,
): Promise<PlanResult> {
  const before: SqlWork = queue.workNow();
  const figures =
    plan.kind === 'sdk'
      ? await runSdk(ctx, portal, names)
      : await runMonitor(ctx, portal, queue, plan);
  await drained(queue);
  const polls = Math.max(1, figures.polls);
  const after = queue.workNow();
  const seconds = (after.seconds - before.seconds) / polls;
  const later = figures.wallMs.length > 1 ? figures.wallMs.slice(1) : figures.wallMs;
  return {
    plan: plan.name,
    polls: figures.polls,
    okPolls: figures.okPolls,
    errors: figures.errors,
    requestsPerPoll: figures.requestsPerPoll,
    dbSecondsPerPoll: round(seconds, 3),
    busySecondsPerPoll: round((after.busySeconds - before.busySeconds) / polls, 3),
    dbSecondsByPoll: figures.dbSecondsByPoll,
    listsPerPoll: round((after.lists - before.lists) / polls, 1),
    rowsReadPerPoll: Math.round((after.handlerReads - before.handlerReads) / polls),
    wallMsMedian: round(median(later), 1),
    sharePercent: round((seconds / SCHEDULE_S) * 100, 2),
    depthOk: figures.depths.length === 0 ? null : figures.depths.at(-1) === rows,
    ...(ctx.intervalMs === null || figures.runs.length === 0
      ? {}
      : {
          steady: steadyFigures(figures.runs, ctx.intervalMs, figures.baselineMs, {
            byPoll: figures.readsByPoll,
            count: countReads,
          }),
        }),
  };
}

/**
 * Waits until InnoDB has written out the pages the fill dirtied (at most 2 minutes): the
 * flushing after a million-row insert runs for a minute or so and slows every query of the
 * first polls (the same depth count took 1.5 times the bench's own COUNT(*) in the first
 * minute), work no monitor caused and a real portal's queue, not loaded seconds before, does
 * not have. Returns the seconds waited.
 */
async function settle(queue: SqlQueue): Promise<number> {
  const started = performance.now();
  const dirty = async () => {
    const rows = await queue.query<RowDataPacket[]>(
      "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'",
    );
    return Number((rows[0] as { Value?: string } | undefined)?.Value ?? 0);
  };
  await queue.query('SET GLOBAL innodb_max_dirty_pages_pct = 0');
  try {
    while ((await dirty()) > 100 && performance.now() - started < 120_000) await delay(1000);
  } finally {
    await queue.query('SET GLOBAL innodb_max_dirty_pages_pct = DEFAULT');
  }
  return round((performance.now() - started) / 1000, 1);
}

/** One `COUNT(*)` of the app's whole queue, ms. */
async function countOnceMs(queue: SqlQueue): Promise<number> {
  const started = performance.now();
  await queue.query(
    `SELECT COUNT(*) AS n FROM ${TABLE} WHERE APP_ID = ? AND (CONNECTOR_ID IS NULL OR CONNECTOR_ID = '')`,
    [queue.appId],
  );
  return performance.now() - started;
}

/** Rows one `COUNT(*)` of the app's whole queue reads (Handler_read_*): the unit of work. */
async function countRowsRead(queue: SqlQueue): Promise<number> {
  const connection = await queue.connection();
  const reads = async () => {
    const [rows] = await connection.query<RowDataPacket[]>(
      "SHOW SESSION STATUS LIKE 'Handler_read%'",
    );
    return rows.reduce((sum, row) => sum + Number((row as { Value: string }).Value), 0);
  };
  try {
    const first = await reads();
    const overhead = (await reads()) - first;
    const before = await reads();
    await connection.query(
      `SELECT COUNT(*) AS n FROM ${TABLE} WHERE APP_ID = ? AND (CONNECTOR_ID IS NULL OR CONNECTOR_ID = '')`,
      [queue.appId],
    );
    return (await reads()) - before - overhead;
  } finally {
    connection.release();
  }
}

async function countAllMs(queue: SqlQueue): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push(await countOnceMs(queue));
  return round(median(times), 1);
}

/** What a plan's run would take at `rows`, from its last measured size (seconds). */
export type Estimates = Map<string, { readonly rows: number; readonly seconds: number }>;

function expectedSeconds(estimates: Estimates, plan: SqlPlan, rows: number): number | null {
  const last = estimates.get(plan.name);
  if (last === undefined) return null;
  const ratio = rows / last.rows;
  return last.seconds * (plan.growth === 'quadratic' ? ratio * ratio : ratio);
}

export async function measureCase(
  ctx: SqlBenchContext,
  spec: QueueCase,
  plans: readonly SqlPlan[],
  appId: number,
  estimates: Estimates,
): Promise<CaseResult> {
  const names =
    spec.names > 8 ? EVENT_NAMES_16.slice(0, spec.names) : EVENT_NAMES_8.slice(0, spec.names);
  const label = `${formatRows(spec.rows)} × ${spec.names} names, ${spec.shape}`;
  const { portal, queue } = await addSqlPortal(
    ctx.sim,
    `sql${appId}`,
    { socket: ctx.db.socket, appId },
    { rateLimit: null, operatingLimit: null, events: names, journalCapacity: 1_000_000 },
  );
  try {
    await queue.query(`TRUNCATE TABLE ${TABLE}`);
    ctx.log(`${label}: filling`);
    const started = performance.now();
    await fillSqlQueue(queue, {
      rows: spec.rows,
      eventNames: names,
      shape: spec.shape,
      nowMs: Date.now(),
    });
    await queue.query(`ANALYZE TABLE ${TABLE}`);
    const fillS = round((performance.now() - started) / 1000, 1);
    const settleS = await settle(queue);
    ctx.log(`${label}: filled in ${fillS} s, the database settled in ${settleS} s`);
    await queue.measureHandlers();
    const countMs = await countAllMs(queue);
    const countReads = await countRowsRead(queue);
    const results: PlanResult[] = [];
    for (const plan of plans) {
      if (plan.kind === 'sdk' && ctx.https === null) {
        results.push({ plan: plan.name, ...EMPTY, skipped: 'no HTTPS proxy (openssl missing)' });
        continue;
      }
      if (!plan.byNames && spec.names > 8 && !ctx.listingsOnEveryQueue) {
        const skipped = 'a listing does not depend on event names: see the 8-name queue';
        results.push({ plan: plan.name, ...EMPTY, skipped });
        continue;
      }
      const expected = expectedSeconds(estimates, plan, spec.rows);
      if (plan.kind === 'sdk' && expected !== null && expected > ctx.budgetS) {
        const skipped = `expected ≈ ${Math.round(expected)} s of database time (from ${formatRows(estimates.get(plan.name)?.rows ?? 0)}, rows²), over the ${ctx.budgetS} s budget`;
        results.push({ plan: plan.name, ...EMPTY, skipped });
        continue;
      }
      ctx.log(`${label}: ${plan.name}`);
      const result = await measurePlan(ctx, portal, queue, spec.rows, names, plan, countReads);
      estimates.set(plan.name, { rows: spec.rows, seconds: result.dbSecondsPerPoll });
      results.push(result);
    }
    return { ...spec, label, fillS, countAllMs: countMs, plans: results };
  } finally {
    await queue.close();
    ctx.sim.removePortal(portal.id);
  }
}

/** Starts the private MariaDB the SQL bench uses (a buffer pool that holds 1M rows). */
export function startBenchDb(): Promise<MariaDb> {
  return startMariaDb({ bufferPoolMb: 1024 });
}
