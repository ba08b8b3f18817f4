/**
 * The bench's verdicts and tables: figures in, the targets of issue 4 checked one by one and
 * printed beside the tables they come from.
 */
import type { FleetResult } from './fleet.js';
import type { LatencyStats } from './protocol.js';
import { check, int, mbText, ms, ratio, seconds, table } from './format.js';
import type { SdkSummary, SizeResult, StrategyResult } from './sizes.js';

export interface Target {
  readonly target: string;
  /** null: not measured in this run. */
  readonly met: boolean | null;
  readonly figure: string;
}

/** The fleet targets are for 1,000 portals; a smaller run (--quick) is shown, not judged. */
function fullFleet(fleet: FleetResult | null): boolean {
  return fleet !== null && fleet.plan.portals >= 1000;
}

function sdkOf(size: SizeResult): SdkSummary | null {
  return size.sdk !== null && !('skipped' in size.sdk) ? size.sdk : null;
}

export function evaluateTargets(sizes: readonly SizeResult[], fleet: FleetResult | null): Target[] {
  const targets: Target[] = [];
  const counts = sizes.flatMap((size) => [size.count, size.count16]);
  const worst = counts.reduce<StrategyResult | null>(
    (max, result) =>
      max === null || Math.max(...result.requestsPerPoll) > Math.max(...max.requestsPerPoll)
        ? result
        : max,
    null,
  );
  const steadyMax = Math.max(...counts.map((result) => result.requestsSteady));
  const firstMax = Math.max(...counts.map((result) => result.requestsFirst));
  targets.push({
    target: 'count: ≤ 2 HTTP requests per poll, up to 16 event names, every depth',
    met: counts.length === 0 ? null : Math.max(steadyMax, firstMax) <= 2,
    figure:
      worst === null
        ? 'not measured'
        : `steady polls: at most ${steadyMax}; first poll of a fresh process: at most ${firstMax}` +
          (firstMax > 2
            ? ` (${sizes
                .filter((size) => size.count16.requestsFirst > 2)
                .map((size) => size.label)
                .join(', ')} with 16 names)`
            : ''),
  });
  const million = sizes.find((size) => size.rows === 1_000_000);
  targets.push({
    target: 'count: one poll of a 1M-row queue < 1 s (local portal)',
    met: million === undefined ? null : million.count.wallMsMedian < 1000,
    figure:
      million === undefined
        ? 'not measured (no 1M queue in this run)'
        : `median ${ms(million.count.wallMsMedian)} (8 names), ${ms(million.count16.wallMsMedian)} (16 names); the simulated portal was busy ${ms(million.count.simBusyMsMedian)} of it`,
  });
  const scans = sizes.map((size) => size.scan);
  const scanExact = scans.every((scan) =>
    scan.requestsPerPoll.every((requests) => requests === scan.minimumPages),
  );
  targets.push({
    target: 'scan: exactly the minimum number of pages, ceil(rows / 50)',
    met: scans.length === 0 ? null : scanExact,
    figure: scans
      .map(
        (scan, i) => `${sizes[i]?.label}: ${int(scan.requestsSteady)} / ${int(scan.minimumPages)}`,
      )
      .join(', '),
  });
  const tenK = sizes.find((size) => size.rows === 10_000);
  targets.push({
    target: 'scan: peak RSS at 1M rows within 50 MB of that at 10k rows',
    met:
      million === undefined || tenK === undefined
        ? null
        : million.scan.peakRssMb - tenK.scan.peakRssMb <= 50,
    figure:
      million === undefined || tenK === undefined
        ? 'not measured'
        : `${mbText(million.scan.peakRssMb)} − ${mbText(tenK.scan.peakRssMb)} = ${mbText(million.scan.peakRssMb - tenK.scan.peakRssMb)}`,
  });
  targets.push({
    target: '1,000 portals every 30 s: < 25 % of one core on average',
    met: fleet !== null && fullFleet(fleet) ? fleet.measured.steady.cpuPercent < 25 : null,
    figure:
      fleet === null
        ? 'not measured'
        : `${fullFleet(fleet) ? '' : `(${fleet.plan.portals} portals only) `}${fleet.measured.steady.cpuPercent.toFixed(1)} % over ${fleet.measured.steady.fromS}–${fleet.measured.steady.toS} s (polling on schedule); ${fleet.measured.whole.cpuPercent.toFixed(1)} % over the whole run including the start-up round`,
  });
  targets.push({
    target: '/metrics p99 < 250 ms with the 1,000 portals’ series',
    met: fleet !== null && fullFleet(fleet) ? fleet.scrape.sequential.p99Ms < 250 : null,
    figure:
      fleet === null
        ? 'not measured'
        : `${fullFleet(fleet) ? '' : `(${fleet.plan.portals} portals only) `}sequential p99 ${ms(fleet.scrape.sequential.p99Ms)} (p50 ${ms(fleet.scrape.sequential.p50Ms)}); ${fleet.scrape.burst.concurrency} at once: p99 ${ms(fleet.scrape.burst.p99Ms)}; rendering alone, no polls: p50 ${ms(fleet.done.renderOnly.p50Ms)}, p99 ${ms(fleet.done.renderOnly.p99Ms)}`,
  });
  const hundredK = sizes.find((size) => size.rows === 100_000);
  const sdk = hundredK === undefined ? null : sdkOf(hundredK);
  targets.push({
    target: '≥ 100× fewer requests than the SDK at 100k rows',
    met:
      hundredK === undefined || sdk === null
        ? null
        : sdk.requests / Math.max(hundredK.count.requestsFirst, hundredK.count.requestsSteady) >=
          100,
    figure:
      hundredK === undefined || sdk === null
        ? 'not measured'
        : `SDK ${int(sdk.requests)} vs count ${hundredK.count.requestsSteady}: ${int(sdk.requests / hundredK.count.requestsSteady)}× fewer`,
  });
  return targets;
}

function requestsText(result: StrategyResult): string {
  return result.requestsFirst === result.requestsSteady
    ? int(result.requestsSteady)
    : `${int(result.requestsFirst)} first, ${int(result.requestsSteady)} after`;
}

function strategyRow(size: SizeResult, result: StrategyResult): string[] {
  return [
    size.label,
    result.strategy === 'auto' ? `auto → ${result.used}` : result.strategy,
    String(result.eventNames),
    requestsText(result),
    `${int(result.journalRequests)} ${check(result.journalAgrees)}`,
    int(result.minimumPages),
    ms(result.wallMsMedian),
    ms(result.simBusyMsMedian),
    seconds(result.at2PerSecondS),
    mbText(result.peakRssMb),
    mbText(result.baselineRssMb),
    result.equal ? '✓' : `✗ ${result.firstDifference ?? ''}`,
  ];
}

export function pollTable(sizes: readonly SizeResult[]): string {
  const rows = sizes.flatMap((size) =>
    [size.scan, size.count, size.count16, size.auto].map((result) => strategyRow(size, result)),
  );
  return table(
    [
      'rows',
      'strategy',
      'names',
      'requests/poll',
      'journal',
      'min pages',
      'wall/poll',
      'sim busy',
      'at 2 req/s',
      'peak RSS',
      'RSS at start',
      '= truth',
    ],
    rows,
    [
      'right',
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'left',
    ],
  );
}

function ratioCell(ours: number, theirs: number, show: (v: number) => string, word: string) {
  return `${show(ours)} / ${show(theirs)} = ${ratio(ours, theirs, word)}`;
}

export function sdkTable(sizes: readonly SizeResult[]): string {
  const rows = sizes.map((size) => {
    const sdk = sdkOf(size);
    if (sdk === null) {
      const reason = size.sdk !== null && 'skipped' in size.sdk ? size.sdk.skipped : 'not run';
      return [size.label, `skipped: ${reason}`, '', '', '', '', '', '', '', ''];
    }
    const scanWall = size.scanHttps?.wallMsMedian ?? Number.NaN;
    const countWall = size.countHttps?.wallMsMedian ?? Number.NaN;
    return [
      size.label,
      `${int(sdk.requests)} ${check(sdk.journalAgrees)}`,
      ms(sdk.wallMsMedian),
      seconds(sdk.at2PerSecondS),
      mbText(sdk.peakRssMb),
      check(sdk.equal),
      ratioCell(size.count.requestsSteady, sdk.requests, int, 'fewer'),
      ratioCell(countWall, sdk.wallMsMedian, ms, 'less'),
      ratioCell(size.scan.requestsSteady, sdk.requests, int, 'fewer'),
      ratioCell(scanWall, sdk.wallMsMedian, ms, 'less'),
    ];
  });
  return table(
    [
      'rows',
      'SDK requests',
      'SDK wall',
      'SDK at 2 req/s',
      'SDK peak RSS',
      '= truth',
      'count/SDK requests',
      'count/SDK wall',
      'scan/SDK requests',
      'scan/SDK wall',
    ],
    rows,
    ['right', 'right', 'right', 'right', 'right', 'left', 'right', 'right', 'right', 'right'],
  );
}

export function fleetTable(fleet: FleetResult): string {
  const m = fleet.measured;
  const s = fleet.scrape;
  const rows: [string, string][] = [
    [
      'portals',
      `${int(fleet.plan.portals)} on one simulated server (${int(fleet.rows)} rows; ${fleet.largePortals} with ${int(fleet.plan.largeRows[0])}–${int(fleet.plan.largeRows[1])} rows, the rest ${fleet.plan.smallRows[0]}–${fleet.plan.smallRows[1]})`,
    ],
    [
      'config',
      `one YAML file, a token file each, schedule '${fleet.schedule}', strategy auto, client rate limit ${fleet.clientRateLimit.drainPerSecond}/s (burst ${fleet.clientRateLimit.capacity}), ${fleet.maxConcurrentPolls} polls at once, log level ${fleet.logLevel}`,
    ],
    ['run', `${m.wallS} s; start-up round (every portal once) took ${m.startupRoundS} s`],
    [
      'CPU, % of one core',
      `${m.steady.cpuPercent.toFixed(1)} % polling on schedule (${m.steady.fromS}–${m.steady.toS} s); ${m.whole.cpuPercent.toFixed(1)} % whole run; ${fleet.done.scrapeWindow.cpuPercent.toFixed(1)} % while being scraped back to back`,
    ],
    [
      'memory',
      `RSS ${mbText(m.rssMb)} (heap ${mbText(m.heapUsedMb)}) after the run; peak RSS ${mbText(fleet.done.maxRssMb)} including the scrapes`,
    ],
    [
      'polls',
      `${int(m.polls)} started, ${int(m.failedPolls)} failed during the measured run; ${m.portalsUp} portals up; last strategy: ${Object.entries(
        m.strategies,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(
          ', ',
        )}; ${int(m.restRequests)} HTTP requests; ${int(fleet.portalRateLimitRefusals)} refused by the portals' 2/s limit`,
    ],
    [
      '/metrics body',
      `${(s.bodyBytes / 1_048_576).toFixed(2)} MB, ${int(s.series)} series, ${s.portals} portals`,
    ],
    [
      `/metrics, ${s.sequential.count} one after another`,
      `p50 ${ms(s.sequential.p50Ms)}, p90 ${ms(s.sequential.p90Ms)}, p99 ${ms(s.sequential.p99Ms)}, max ${ms(s.sequential.maxMs)}`,
    ],
    [
      `/metrics, ${s.burst.count} by ${s.burst.concurrency} at once`,
      `p50 ${ms(s.burst.p50Ms)}, p90 ${ms(s.burst.p90Ms)}, p99 ${ms(s.burst.p99Ms)}, max ${ms(s.burst.maxMs)} (${ms(s.burst.wallMs)} in all)${s.failures > 0 ? `; ${s.failures} failed` : ''}`,
    ],
    [
      'rendering alone',
      `MetricsRenderer.render() ×${fleet.done.renderOnly.count} after polling stopped: p50 ${ms(fleet.done.renderOnly.p50Ms)}, p99 ${ms(fleet.done.renderOnly.p99Ms)}, max ${ms(fleet.done.renderOnly.maxMs)}`,
    ],
    [
      'log lines',
      Object.entries(fleet.logLines)
        .map(([k, v]) => `${k} ×${v}`)
        .join('; '),
    ],
  ];
  return table([`${int(fleet.plan.portals)} portals`, 'figure'], rows);
}

export function targetTable(targets: readonly Target[]): string {
  return table(
    ['target', 'met', 'figure'],
    targets.map((t) => [t.target, t.met === null ? '—' : t.met ? '✓ met' : '✗ missed', t.figure]),
  );
}

/** /metrics of the fleet, plain and gzip, one after another and several at once. */
export function scrapeTable(fleet: FleetResult): string {
  const s = fleet.scrape;
  const size = (bytes: number) => `${(bytes / 1_048_576).toFixed(2)} MB`;
  const row = (encoding: string, bytes: number, how: string, l: LatencyStats) => [
    encoding,
    size(bytes),
    how,
    int(l.count),
    ms(l.p50Ms),
    ms(l.p90Ms),
    ms(l.p99Ms),
    ms(l.maxMs),
  ];
  const at = `${s.burst.concurrency} at once`;
  return table(
    ['encoding', 'body', 'scrapes', 'count', 'p50', 'p90', 'p99', 'max'],
    [
      row('plain', s.bodyBytes, 'one after another', s.sequential),
      row('plain', s.bodyBytes, at, s.burst),
      row('gzip', s.gzip.bodyBytes, 'one after another', s.gzip.sequential),
      row('gzip', s.gzip.bodyBytes, at, s.gzip.burst),
    ],
    ['left', 'right', 'left', 'right', 'right', 'right', 'right', 'right'],
  );
}
