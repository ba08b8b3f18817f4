/**
 * The SQL mode of `npm run bench` (`-- --sql`): a private MariaDB, one simulated server, and
 * for each queue (sizes × event names × shape) every plan in its own child process. Prints
 * the table and writes the figures as JSON.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SimServer } from '../../src/sim/index.js';
import { findMariaDb } from '../../src/sim/sql/index.js';
import type { QueueShape } from '../../src/sim/sql/index.js';
import { VERSION } from '../../src/runtime/version.js';
import type { BenchArgs } from '../args.js';
import { round } from '../stats.js';
import { makeCertificate, startHttpsProxy } from '../tls.js';
import type { HttpsProxy } from '../tls.js';
import { DEFAULT_SQL_PLANS, sqlPlan } from './plans.js';
import { SQL_NOTES, sqlTable } from './report.js';
import { measureCase, startBenchDb } from './run.js';
import { STEADY_NOTES, steadyTable } from './steady.js';
import type { CaseResult, Estimates, QueueCase, SqlBenchContext } from './run.js';

const SHAPES: readonly QueueShape[] = ['healthy', 'stuck'];

/**
 * Sizes × 8 and 16 names × both shapes; 16 names at 1M rows only in the full matrix, and on a
 * simulated schedule (minutes of polls per queue) 8 names only unless full.
 */
function sqlCases(sizes: readonly number[], full: boolean, steady: boolean): QueueCase[] {
  const cases: QueueCase[] = [];
  for (const rows of sizes) {
    for (const names of [8, 16]) {
      if (names === 16 && (rows >= 1_000_000 || steady) && !full) continue;
      for (const shape of SHAPES) cases.push({ rows, names, shape });
    }
  }
  return cases;
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function command(args: BenchArgs): string {
  const parts = ['npm run bench --', args.sqlFull ? '--sql-full' : '--sql'];
  if (args.sqlPlans !== null) parts.push('--sql-plans', args.sqlPlans.join(','));
  if (args.sqlPolls !== null) parts.push('--sql-polls', String(args.sqlPolls));
  if (args.sqlInterval !== null) {
    parts.push(
      '--sql-interval',
      String(args.sqlInterval),
      '--sql-minutes',
      String(args.sqlMinutes),
    );
  }
  parts.push('--sizes', args.sizes.join(','));
  if (!args.sdk) parts.push('--no-sdk');
  return parts.join(' ');
}

export async function runSqlBench(
  args: BenchArgs,
  tmp: string,
  log: (line: string) => void,
): Promise<void> {
  if (findMariaDb() === null) {
    throw new Error('--sql needs MariaDB: apt-get install mariadb-server');
  }
  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;
  const steady = args.sqlInterval !== null;
  const polls =
    args.sqlInterval !== null
      ? Math.max(2, Math.round((args.sqlMinutes * 60) / args.sqlInterval))
      : (args.sqlPolls ?? (args.sqlFull ? 4 : 3));
  // on a simulated schedule the budgeted plan is the one whose cadence is measured
  const names = (args.sqlPlans ?? (steady ? ['auto'] : DEFAULT_SQL_PLANS)).filter(
    (name) => args.sdk || name !== 'sdk',
  );
  const plans = names.map((name) => sqlPlan(name, polls));
  log('starting MariaDB');
  const db = await startBenchDb();
  const sim = await SimServer.start();
  let proxy: HttpsProxy | null = null;
  const cases: CaseResult[] = [];
  try {
    let https: SqlBenchContext['https'] = null;
    if (plans.some((plan) => plan.kind === 'sdk') && hasOpenssl()) {
      const cert = await makeCertificate(tmp);
      proxy = await startHttpsProxy(sim.url, cert);
      https = { url: proxy.url, caFile: cert.certFile };
    }
    const ctx: SqlBenchContext = {
      sim,
      db,
      tmp,
      https,
      // the SDK's keyset list at 100k rows takes minutes: only in the full matrix
      budgetS: args.sqlFull ? 900 : 60,
      listingsOnEveryQueue: args.sqlFull,
      intervalMs: args.sqlInterval === null ? null : args.sqlInterval * 1000,
      trace: args.sqlTrace,
      log,
    };
    const estimates: Estimates = new Map();
    let appId = 0;
    for (const spec of sqlCases(args.sizes, args.sqlFull, steady)) {
      cases.push(await measureCase(ctx, spec, plans, ++appId, estimates));
    }
  } finally {
    await proxy?.close();
    await sim.close();
    await db.stop();
  }
  const runtimeS = round((performance.now() - started) / 1000, 1);
  const cpu = cpus();
  const out = [
    `# b24-offline-monitor ${VERSION}: what a poll costs a real portal's database`,
    '',
    `Command: ${command(args)}`,
    `Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, ${db.version}`,
    // other work on the machine slows every query down: say how busy it was
    `Load average (1 min): ${loadAtStart.toFixed(2)} at the start, ${(loadavg()[0] ?? 0).toFixed(2)} at the end`,
    '',
    ...(steady ? [steadyTable(cases), '', ...STEADY_NOTES] : [sqlTable(cases), '', ...SQL_NOTES]),
    '',
    `Bench runtime: ${runtimeS} s`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  const file = resolve(args.out);
  await mkdir(dirname(file), { recursive: true });
  const json = {
    version: VERSION,
    date: new Date().toISOString(),
    command: command(args),
    machine: { cpus: cpu.length, model: cpu[0]?.model, node: process.version, db: db.version },
    runtimeS,
    cases,
  };
  await writeFile(file, `${JSON.stringify(json, null, 2)}\n`);
  log(`results written to ${file}`);
}
