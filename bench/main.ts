/**
 * `npm run bench` (`node --import tsx bench/main.ts [--quick] [--out FILE]`): the benchmarks of
 * issue 4. The simulated portal runs here; every measured configuration runs in a fresh child
 * process (bench/child.ts), so its peak RSS is the monitor's own. Prints the tables and the
 * targets, and writes everything as JSON.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SimServer } from '../src/sim/index.js';
import { VERSION } from '../src/runtime/version.js';
import { parseArgs, USAGE, UsageError, type BenchArgs } from './args.js';
import { measureFleet, type FleetPlan, type FleetResult } from './fleet.js';
import {
  evaluateTargets,
  fleetTable,
  pollTable,
  scrapeTable,
  sdkTable,
  targetTable,
} from './report.js';
import { measureSize, type SizeContext, type SizePlan, type SizeResult } from './sizes.js';
import { int } from './format.js';
import { measureRedaction, REDACTION_NOTES, redactionTable } from './redaction.js';
import { round } from './stats.js';
import { makeCertificate, startHttpsProxy, type HttpsProxy } from './tls.js';
import { runSqlBench } from './sql/main.js';

function sizePlan(rows: number, sdk: boolean): SizePlan {
  if (rows >= 1_000_000) {
    return { rows, scanRuns: 3, countRuns: 7, sdkRuns: 1, scanHttpsRuns: 1, sdk, ourHttps: true };
  }
  if (rows >= 100_000) {
    return { rows, scanRuns: 4, countRuns: 7, sdkRuns: 3, scanHttpsRuns: 3, sdk, ourHttps: true };
  }
  return { rows, scanRuns: 5, countRuns: 7, sdkRuns: 3, scanHttpsRuns: 4, sdk, ourHttps: true };
}

/** --scrape-only: the 1,000 portals polled until the start-up round is over, then scraped. */
const SCRAPE_ONLY_PLAN = {
  portals: 1000,
  durationMs: 20_000,
  sequentialScrapes: 100,
  burstScrapes: 50,
} as const satisfies Partial<FleetPlan>;

function fleetPlan(quick: boolean, scrapeOnly = false): FleetPlan {
  const shape = {
    largeEvery: 50,
    smallRows: [50, 500],
    largeRows: [10_000, 50_000],
    burstConcurrency: 5,
  } satisfies Partial<FleetPlan>;
  if (scrapeOnly) return { ...shape, ...SCRAPE_ONLY_PLAN };
  return quick
    ? { ...shape, portals: 200, durationMs: 35_000, sequentialScrapes: 100, burstScrapes: 20 }
    : { ...shape, portals: 1000, durationMs: 80_000, sequentialScrapes: 200, burstScrapes: 50 };
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function measureSizes(args: BenchArgs, tmp: string): Promise<SizeResult[]> {
  const sim = await SimServer.start();
  let proxy: HttpsProxy | null = null;
  try {
    let https: SizeContext['https'] = null;
    if (args.sdk && hasOpenssl()) {
      const cert = await makeCertificate(tmp);
      proxy = await startHttpsProxy(sim.url, cert);
      https = { url: proxy.url, caFile: cert.certFile };
    } else if (args.sdk) {
      log('openssl not found: the SDK comparison is skipped');
    }
    const ctx: SizeContext = { sim, tmp, https, sdkMsPerRow: null, sdkBudgetS: 60, log };
    const results: SizeResult[] = [];
    for (const rows of args.sizes) results.push(await measureSize(ctx, sizePlan(rows, args.sdk)));
    return results;
  } finally {
    await proxy?.close();
    await sim.close();
  }
}

function header(args: BenchArgs): string {
  const cpu = cpus();
  return [
    `# b24-offline-monitor ${VERSION} benchmarks${args.quick ? ' (--quick)' : ''}`,
    '',
    `Command: npm run bench${args.quick ? ' -- --quick' : args.scrapeOnly ? ' -- --scrape-only' : ''} (node --import tsx bench/main.ts)`,
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}`,
  ].join('\n');
}

const NOTES = {
  polls: [
    'Local simulated portal over HTTP, no rate limit on either side; the monitor in a fresh child',
    'process per line (config loader + buildMonitor, as the CLI builds it), polling the same queue',
    'several times. requests/poll: PollReport.requests ("first" is a fresh process that knows no',
    'event names yet); journal: HTTP requests the portal recorded for that child, all polls, ✓ =',
    'equal to the sum of PollReport.requests. wall/poll: median of the polls after the first.',
    'sim busy: time the simulated portal (this process) was busy during a poll, same median.',
    'at 2 req/s: requests / 2 s (after a full 50-request burst: (requests − 50) / 2 s, in the',
    "JSON). peak RSS: the child's process.resourceUsage().maxRSS (Node + tsx + the monitor);",
    "RSS at start: before its first poll. = truth: every poll's snapshot equals",
    'portal.truth(takenAt), field by field. Queues: 8 event names (16 for the second count',
    'line), 85 % queued, 10 % error, 5 % reserved, timestamps over 10 days.',
    "The scan's first request is a batch of event.get and the first page, so event.get costs no",
    'request of its own; it stops on the page whose total says nothing is left, so a multiple',
    'of 50 rows costs no trailing empty page.',
  ],
  fleet: [
    'CPU: process.cpuUsage() / wall time of the monitor\'s process; "on schedule" is the last two',
    '30-s cycles after every portal was polled once (the start-up round polls all of them at',
    'once). /metrics is scraped from a process of its own while polling goes on; latency is to',
    'the last byte. "Rendering alone" times the /metrics renderer (MetricsRenderer) in the monitor\'s',
    'process once polling has stopped.',
  ],
  scrape: [
    'In-memory simulated portals on one simulated server in the bench process; the monitor in a',
    'child process; the scraper in another, on one keep-alive connection per concurrent scrape.',
    'Polls go on while it scrapes (on the cron schedule, every :00 and :30, 8 at a time): a scrape',
    'after a change renders and compresses anew, one between rounds of polls is served from the',
    'cache. gzip: `Accept-Encoding: gzip` as Prometheus sends it; latency to the last compressed',
    'byte; the body decodes to the same series.',
  ],
  sdk: [
    '@bitrix24/b24jssdk 2.2.0, B24OAuth on a token pair of its own, actions.v2.fetchList (keyset:',
    'order ID ASC, filter >ID, start -1) over HTTPS (self-signed certificate made with openssl,',
    'a keep-alive TLS proxy in front of the portal, NODE_EXTRA_CA_CERTS in its child). Its',
    'client-side limits (burst 50 at 2/s, operating time, adaptive pauses) are lifted so that',
    'wall time is its own work; the 2 req/s column is its request count / 2 s, as for ours.',
    "Its rows are folded into a snapshot by the monitor's pure core to check it saw every row.",
    'It stops on a page shorter than 50, so a multiple of 50 rows costs one empty page more.',
    'Ratios are ours / SDK; our wall times here are over the same HTTPS proxy (wall: median).',
  ],
};

async function main(): Promise<void> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    throw error;
  }
  const started = performance.now();
  if (args.redactionOnly) {
    const rows = await measureRedaction(log);
    const text = ['## Log redaction over time', '', redactionTable(rows), '', ...REDACTION_NOTES];
    process.stdout.write(`${text.join('\n')}\n`);
    return;
  }
  const tmp = await mkdtemp(join(tmpdir(), 'b24-bench-'));
  try {
    if (args.scrapeOnly) {
      const fleet = await measureFleet(tmp, fleetPlan(false, true), log);
      const s = fleet.scrape;
      const text = [
        header(args),
        '',
        `## /metrics of ${int(fleet.plan.portals)} portals, plain and gzip`,
        '',
        scrapeTable(fleet),
        '',
        `${int(s.series)} series (gzip decoded: ${int(s.gzip.series)}), ${s.portals} portals; ${s.failures} failed scrapes; monitor CPU while scraped: ${fleet.done.scrapeWindow.cpuPercent.toFixed(1)} % of one core; load average at the end: ${loadavg()
          .map((l) => l.toFixed(2))
          .join(', ')}`,
        '',
        ...NOTES.scrape,
      ];
      process.stdout.write(`${text.join('\n')}\n`);
      const file = resolve(args.out);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, `${JSON.stringify({ version: VERSION, args, fleet }, null, 2)}\n`);
      return;
    }
    if (args.sql) {
      await runSqlBench(args, tmp, log);
      return;
    }
    const sizes = await measureSizes(args, tmp);
    const redaction = await measureRedaction(log);
    let fleet: FleetResult | null = null;
    if (args.fleet) fleet = await measureFleet(tmp, fleetPlan(args.quick), log);
    const targets = evaluateTargets(sizes, fleet);
    const runtimeS = round((performance.now() - started) / 1000, 1);

    const out: string[] = [header(args), ''];
    out.push('## Polls by queue size and strategy', '', pollTable(sizes), '', ...NOTES.polls, '');
    if (args.sdk)
      out.push('## Against the official SDK', '', sdkTable(sizes), '', ...NOTES.sdk, '');
    if (fleet !== null) {
      out.push(`## ${int(fleet.plan.portals)} portals in one process`, '', fleetTable(fleet), '');
      out.push(...NOTES.fleet, '');
      out.push(`### /metrics plain and gzip`, '', scrapeTable(fleet), '', ...NOTES.scrape, '');
    }
    out.push('## Log redaction over time', '', redactionTable(redaction), '');
    out.push(...REDACTION_NOTES, '');
    out.push('## Targets', '', targetTable(targets), '', `Bench runtime: ${runtimeS} s`);
    process.stdout.write(`${out.join('\n')}\n`);

    const file = resolve(args.out);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(
      file,
      `${JSON.stringify(
        {
          version: VERSION,
          date: new Date().toISOString(),
          command: `npm run bench${args.quick ? ' -- --quick' : ''}`,
          machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
          args,
          runtimeS,
          sizes,
          fleet,
          redaction,
          targets,
        },
        null,
        2,
      )}\n`,
    );
    log(`results written to ${file}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
