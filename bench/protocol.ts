/**
 * What the bench's parent process and its measured children say to each other: a job as the
 * child's one argument (JSON), results as IPC messages.
 */
import type { SnapshotJson } from './snapshotJson.js';

/** Where a monitor or the SDK finds one simulated portal, and the token pair it uses. */
export interface PortalAccess {
  readonly restUrl: string;
  readonly oauthUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Unix seconds the access token expires. */
  readonly expires: number;
}

export type BenchStrategy = 'scan' | 'count' | 'auto';

/** Polls of one portal by our monitor (`buildMonitor`, the real config loader). */
export interface PollJob {
  readonly kind: 'poll';
  readonly portal: PortalAccess;
  /** MONITOR_STRATEGY: one of BenchStrategy, or any plan the monitor knows (the SQL bench). */
  readonly strategy: string;
  readonly runs: number;
  readonly tokenFile: string;
  /** More settings for the config loader, winning over the child's own. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * A simulated schedule: the polls still run back to back, but the monitor's clock moves
   * this many ms from one poll's start to the next (the budget and the breakdowns' age
   * behave as on that schedule). Absent: the real clock.
   */
  readonly intervalMs?: number;
  /**
   * After each poll mark, wait for the parent's `go` (the parent times one `COUNT(*)` of the
   * queue there, next to the poll and not charged to it).
   */
  readonly waitForGo?: boolean;
}

export interface PollRun {
  readonly ok: boolean;
  /** Around `pollOnce`, by the high-resolution clock. */
  readonly wallMs: number;
  /** `PollReport.durationMs` (millisecond clock). */
  readonly durationMs: number;
  /** `PollReport.requests`. */
  readonly requests: number;
  readonly strategy: string | undefined;
  readonly snapshot: SnapshotJson | null;
  readonly error?: string;
  /** The sum of the poll's `processing` as the monitor read it, seconds. */
  readonly processingSeconds?: number;
  /** Breakdowns refreshed in the poll (count plan). */
  readonly refreshed?: readonly string[];
  /** A breakdown request of the poll timed out. */
  readonly breakdownTimedOut?: boolean;
  /** The poll's start by the monitor's clock, Unix seconds. */
  readonly startedAtS?: number;
  /** When the breakdowns were last refreshed as of the poll's end, Unix seconds (monitor's clock). */
  readonly breakdownAt?: number;
}

/** Sent just before and just after each poll, so the parent can time its own side of it. */
export interface PollMark {
  readonly kind: 'poll-mark';
  readonly phase: 'start' | 'end';
  readonly run: number;
}

export interface PollResult {
  readonly kind: 'poll';
  readonly runs: readonly PollRun[];
  /** `process.resourceUsage().maxRSS`, MB. */
  readonly maxRssMb: number;
  /** RSS after the imports, before the first poll, MB. */
  readonly baselineRssMb: number;
}

/** The same queue listed with the official SDK's keyset list. */
export interface SdkJob {
  readonly kind: 'sdk';
  readonly portal: PortalAccess;
  readonly domain: string;
  readonly memberId: string;
  /** Bound event names: present in the folded snapshot with zero rows. */
  readonly eventNames: readonly string[];
  readonly runs: number;
}

export interface SdkRun {
  readonly wallMs: number;
  /** HTTP requests the SDK counted (`getStats().totalRequests`). */
  readonly requests: number;
  readonly rows: number;
  /** The listed rows folded by the monitor's pure core, to check the listing is complete. */
  readonly snapshot: SnapshotJson;
}

export interface SdkResult {
  readonly kind: 'sdk';
  readonly runs: readonly SdkRun[];
  readonly maxRssMb: number;
  readonly baselineRssMb: number;
}

/** One process polling many portals on schedule (`startMonitor`, one config file). */
export interface FleetJob {
  readonly kind: 'fleet';
  readonly configFile: string;
  readonly durationMs: number;
  /** Logs go here (the CLI's logger, level from the config). */
  readonly logFile: string;
}

export interface CpuWindow {
  readonly fromS: number;
  readonly toS: number;
  /** CPU time (user + system) over wall time, % of one core. */
  readonly cpuPercent: number;
}

interface FleetReady {
  readonly kind: 'fleet-ready';
  readonly url: string;
}

export interface FleetMeasured {
  readonly kind: 'fleet-measured';
  readonly wallS: number;
  readonly whole: CpuWindow;
  /** From the end of the start-up round of polls on. */
  readonly steady: CpuWindow;
  /** Seconds the start-up round (every portal polled once) took. */
  readonly startupRoundS: number;
  readonly polls: number;
  readonly failedPolls: number;
  readonly failuresByReason: Readonly<Record<string, number>>;
  readonly portalsUp: number;
  readonly strategies: Readonly<Record<string, number>>;
  readonly restRequests: number;
  readonly rssMb: number;
  readonly heapUsedMb: number;
}

export interface FleetDone {
  readonly kind: 'fleet-done';
  readonly maxRssMb: number;
  /** The /metrics renderer alone, timed in process after polling stopped (no HTTP, no polls). */
  readonly renderOnly: LatencyStats;
  /** CPU while the scrapes ran (polls continuing), % of one core. */
  readonly scrapeWindow: CpuWindow;
}

/** Scrapes of /metrics from a process of its own. */
export interface ScrapeJob {
  readonly kind: 'scrape';
  readonly url: string;
  readonly sequential: number;
  readonly concurrency: number;
  readonly burst: number;
}

export interface LatencyStats {
  readonly count: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export type BurstStats = LatencyStats & { readonly concurrency: number; readonly wallMs: number };

export interface ScrapeResult {
  readonly kind: 'scrape';
  /** Without Accept-Encoding: the plain exposition. */
  readonly sequential: LatencyStats;
  readonly burst: BurstStats;
  readonly bodyBytes: number;
  /** With `Accept-Encoding: gzip`, as Prometheus scrapes; latency to the last compressed byte. */
  readonly gzip: {
    readonly sequential: LatencyStats;
    readonly burst: BurstStats;
    readonly bodyBytes: number;
    /** The last gzip body decoded equals the last plain body's series count. */
    readonly series: number;
  };
  readonly series: number;
  /** Distinct `portal` labels of `b24_offline_up`. */
  readonly portals: number;
  readonly failures: number;
}

export type ChildJob = PollJob | SdkJob | FleetJob | ScrapeJob;
export type ChildMessage =
  | PollMark
  | PollResult
  | SdkResult
  | FleetReady
  | FleetMeasured
  | FleetDone
  | ScrapeResult
  | { readonly kind: 'error'; readonly message: string };

/** Parent to child: `stop` a fleet child; `go` on with a poll child's next poll. */
export type ParentMessage = { readonly kind: 'stop' } | { readonly kind: 'go' };
