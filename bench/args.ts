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
  /** Only the log-redaction measurement (after 100 and 100,000 refreshes). @default false */
  readonly redactionOnly: boolean;
}

export const USAGE = `Usage: npm run bench -- [--quick] [--out FILE] [--sizes 1000,10000] [--no-sdk] [--no-fleet]

  --quick          only 1k and 10k rows, fewer portals and a shorter run of the 1,000 portals
  --out FILE       where the JSON results go (default bench-results/bench.json)
  --sizes LIST     queue sizes to measure, comma separated (default 1000,10000,100000,1000000)
  --no-sdk         skip the comparison with @bitrix24/b24jssdk
  --no-fleet       skip the 1,000-portal run
  --redaction      only the log-redaction figures (after 100 and 100,000 refreshes; ~1 min)
`;

export class UsageError extends Error {}

export function parseArgs(argv: readonly string[]): BenchArgs {
  let quick = false;
  let out = 'bench-results/bench.json';
  let sizes: number[] | undefined;
  let sdk = true;
  let fleet = true;
  let redactionOnly = false;
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
      case '--redaction':
        redactionOnly = true;
        break;
      default:
        throw new UsageError(`Unknown option: ${arg}`);
    }
  }
  return {
    quick,
    out,
    sizes: sizes ?? (quick ? [1_000, 10_000] : [1_000, 10_000, 100_000, 1_000_000]),
    sdk,
    fleet,
    redactionOnly,
  };
}
