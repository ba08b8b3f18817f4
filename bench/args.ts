/** The command line of `npm run bench`. */

export interface BenchArgs {
  /** Only 1k and 10k rows, a shorter fleet run. */
  readonly quick: boolean;
  /** Where the JSON goes. @default bench-results/bench.json */
  readonly out: string;
  /** Queue sizes to measure. @default 1k, 10k, 100k, 1M (quick: 1k, 10k) */
  readonly sizes: readonly number[];
  /** Run the SDK comparison. @default true */
  readonly sdk: boolean;
  /** Run the 1,000-portal measurement. @default true */
  readonly fleet: boolean;
  /** Only the 1,000 portals' /metrics scrapes, plain and gzip (a shorter polling run first). @default false */
  readonly scrapeOnly: boolean;
  /** Only the log-redaction measurement (after 100 and 100,000 refreshes). @default false */
  readonly redactionOnly: boolean;
  /** Only the SQL-backed portal's bench (bench/sql): what polls cost a real database. @default false */
  readonly sql: boolean;
  /** The SQL bench's whole matrix (16 names at 1M rows too, more polls). @default false */
  readonly sqlFull: boolean;
  /** Plans the SQL bench measures: monitor strategies, and `sdk`. @default count, scan, sdk */
  readonly sqlPlans: readonly string[] | null;
  /** Polls per monitor plan and queue in the SQL bench. @default 3 (full: 4) */
  readonly sqlPolls: number | null;
  /**
   * The SQL bench's simulated schedule, seconds: polls run back to back while the monitor's
   * clock moves this much between them (steady state of the budget). @default null (real clock)
   */
  readonly sqlInterval: number | null;
  /** Simulated minutes of the schedule (polls = minutes × 60 / interval). @default 15 */
  readonly sqlMinutes: number;
  /** Print each list of a headline poll and of a breakdown poll, per queue (SQL bench). @default false */
  readonly sqlTrace: boolean;
}

export const USAGE = `Usage: npm run bench -- [--quick] [--out FILE] [--sizes 1000,10000] [--no-sdk] [--no-fleet]
       npm run bench -- --scrape-only [--out FILE]
       npm run bench -- --sql [--sql-full] [--sql-plans count,scan,sdk] [--sql-polls N] [--sizes …]
       npm run bench -- --sql --sql-interval 30 [--sql-minutes 15] [--sql-plans auto] [--sizes …]

  --quick          only 1k and 10k rows, fewer portals and a shorter run of the 1,000 portals
  --out FILE       where the JSON results go (default bench-results/bench.json)
  --sizes LIST     queue sizes to measure, comma separated (default 1000,10000,100000,1000000)
  --no-sdk         skip the comparison with @bitrix24/b24jssdk
  --no-fleet       skip the 1,000-portal run
  --scrape-only    only /metrics of the 1,000 portals: body size and scrape latency, plain and
                   gzip, one after another and 5 at once (~3 min)
  --redaction      only the log-redaction figures (after 100 and 100,000 refreshes; ~1 min)
  --sql            only the SQL-backed portal (a private MariaDB): database time, rows read,
                   requests and share of a 30-s schedule per poll (default sizes 10k,100k,1M)
  --sql-full       with --sql: 16 event names at 1M rows too, and 4 polls per plan
  --sql-plans LIST with --sql: plans to measure: monitor strategies (any MONITOR_STRATEGY
                   value) and sdk (default count,scan,sdk)
  --sql-polls N    with --sql: polls per monitor plan and queue (default 3)
  --sql-interval S with --sql: steady state on a simulated S-second schedule: the polls run back
                   to back, the monitor's clock moves S seconds from one to the next (budget and
                   the breakdowns' 5-minute promise as on that schedule); plans default to auto
  --sql-minutes M  with --sql-interval: simulated minutes per plan and queue (default 15)
  --sql-trace      with --sql: print every list of a headline poll and of a breakdown poll
                   (its COUNT and page time, total, WHERE) for each queue
`;

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): BenchArgs {
  let quick = false;
  let out: string | undefined;
  let sizes: number[] | undefined;
  let sdk = true;
  let fleet = true;
  let redactionOnly = false;
  let scrapeOnly = false;
  let sql = false;
  let sqlFull = false;
  let sqlPlans: string[] | null = null;
  let sqlPolls: number | null = null;
  let sqlInterval: number | null = null;
  let sqlMinutes = 15;
  let sqlTrace = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case '--quick':
        quick = true;
        break;
      case '--out':
        out = value();
        break;
      case '--sizes':
        sizes = value()
          .split(',')
          .map((s) => Number(s.trim()));
        if (sizes.some((n) => !Number.isInteger(n) || n < 1))
          throw new UsageError('--sizes expects positive whole numbers');
        break;
      case '--no-sdk':
        sdk = false;
        break;
      case '--no-fleet':
        fleet = false;
        break;
      case '--scrape-only':
        scrapeOnly = true;
        break;
      case '--redaction':
        redactionOnly = true;
        break;
      case '--sql':
        sql = true;
        break;
      case '--sql-full':
        sql = true;
        sqlFull = true;
        break;
      case '--sql-plans':
        sqlPlans = value()
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
        break;
      case '--sql-polls':
        sqlPolls = Number(value());
        if (!Number.isInteger(sqlPolls) || sqlPolls < 1)
          throw new UsageError('--sql-polls expects a positive whole number');
        break;
      case '--sql-interval':
        sqlInterval = Number(value());
        if (!(sqlInterval > 0)) throw new UsageError('--sql-interval expects positive seconds');
        break;
      case '--sql-minutes':
        sqlMinutes = Number(value());
        if (!(sqlMinutes > 0)) throw new UsageError('--sql-minutes expects positive minutes');
        break;
      case '--sql-trace':
        sqlTrace = true;
        break;
      default:
        throw new UsageError(`Unknown option: ${arg}`);
    }
  }
  const defaultSizes = sql
    ? [10_000, 100_000, 1_000_000]
    : quick
      ? [1_000, 10_000]
      : [1_000, 10_000, 100_000, 1_000_000];
  return {
    quick,
    out: out ?? (sql ? 'bench-results/bench-sql.json' : 'bench-results/bench.json'),
    sizes: sizes ?? defaultSizes,
    sdk,
    fleet,
    scrapeOnly,
    redactionOnly,
    sql,
    sqlFull,
    sqlPlans,
    sqlPolls,
    sqlInterval,
    sqlMinutes,
    sqlTrace,
  };
}
