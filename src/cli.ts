#!/usr/bin/env node
/**
 * The entry point: `start` (default), `once [--json]`, `auth`, `demo`. The only module that touches
 * `process`: arguments, environment, signals, exit codes.
 */
import type { Logger } from 'pino';
import { buildMonitor, startMonitor } from './app.js';
import { TokenStoreError } from './b24/errors.js';
import { lockTokenFile, TokenFileLockedError, type TokenFileLock } from './b24/tokenFileLock.js';
import { runAuth } from './cli/auth.js';
import { AUTH_USAGE } from './cli/authArgs.js';
import { formatTable, toOnceResult } from './cli/report.js';
import { formatProblems, loadConfig } from './config/load.js';
import type { MonitorConfig } from './config/types.js';
import { startDemo } from './demo.js';
import { createLogger, SecretRegistry } from './runtime/log.js';
import { VERSION } from './runtime/version.js';

const USAGE = `Usage: b24-offline-monitor [command]

Commands:
  start          run the monitor (default): polls on schedule, serves /metrics
  once [--json]  poll every configured portal once and print the result
                 exit 0: every poll succeeded, 1: one failed (or a rotated token
                 pair could not be saved), 2: bad configuration
  auth [--code CODE] [--listen host:port] [--portal NAME]
                 the monitor's own token pair from an administrator's consent: prints
                 the authorize URL, takes the code (pasted, received on --listen, or
                 given), writes the token file, checks with one poll; exit codes as once
                 (auth --help for more)
  demo           a simulated Bitrix24 portal with live traffic, and the monitor on it
  --help         this text
  --version      the version

Configuration: environment variables (B24_PORTAL_URL, B24_CLIENT_ID, B24_CLIENT_SECRET,
B24_REFRESH_TOKEN, ...) and/or a YAML or JSON file named by MONITOR_CONFIG.
See README.md and config/monitor.example.yaml.
`;

/**
 * Grace period for a clean shutdown before the process exits anyway. It is longer than the
 * longest request: a token refresh in flight is awaited up to its own timeout, then its pair
 * written durably (a pair the OAuth server rotated and nobody saved is lost for good).
 */
const SHUTDOWN_GRACE_MS = 8_000;

function graceMs(config: MonitorConfig): number {
  const longest = Math.max(0, ...config.portals.map((p) => p.requestTimeoutMs));
  return Math.max(SHUTDOWN_GRACE_MS, longest + 5_000);
}

function configOrExit(): { config: MonitorConfig; warnings: string[] } {
  const result = loadConfig({ env: process.env });
  if (!result.ok) {
    process.stderr.write(`${formatProblems(result.problems)}\n`);
    process.exit(2);
  }
  return result;
}

function secretsOf(config: MonitorConfig): SecretRegistry {
  const secrets = new SecretRegistry();
  for (const value of config.secrets) secrets.add(value);
  return secrets;
}

/**
 * One lock per token file, taken before anything reads it: a second monitor on the same file
 * stops here (exit 2) instead of rotating the first one's pair to death. Released at exit.
 */
function lockTokenFiles(config: MonitorConfig): TokenFileLock[] {
  const locks: TokenFileLock[] = [];
  // With a shared token store (Redis) no token file is read or written, and shards on one
  // machine share one config; the store's per-portal lock guards the pairs instead.
  if (config.tokenStore !== undefined) return locks;
  const releaseAll = () => {
    for (const lock of locks) lock.release();
  };
  try {
    for (const file of new Set(config.portals.map((p) => p.tokenFile))) {
      locks.push(lockTokenFile(file));
    }
  } catch (error) {
    releaseAll();
    if (error instanceof TokenFileLockedError || error instanceof TokenStoreError) {
      process.stderr.write(`b24-offline-monitor: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // also on process.exit() from anywhere (the grace timer, a failed start)
  process.once('exit', releaseAll);
  return locks;
}

/**
 * SIGTERM/SIGINT stop the monitor; a second one while stopping is logged and otherwise
 * ignored (the stop in progress is what saves a rotated pair; dying now would lose it). The
 * grace timer still bounds the whole shutdown.
 *
 * SIGHUP is ignored with a log line, not a configuration reload: the settings that would
 * change (portals, token files and their locks, schedules, listen address, secrets) are the
 * ones each portal's token pair and connections are built on, so a reload would have to
 * rebuild every portal while refreshes may be in flight; a restart does that safely (the
 * token file keeps the pair) and the environment, the other configuration source, cannot
 * change for a running process anyway.
 */
function onSignals(logger: Logger, stop: () => Promise<void>, graceMs: number): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'Shutdown already in progress; waiting for it to finish');
      return;
    }
    signalled = true;
    logger.info({ signal }, 'Shutting down');
    setTimeout(() => {
      logger.error({ graceMs }, 'Shutdown took too long; exiting');
      process.exit(1);
    }, graceMs).unref();
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'Shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  process.on('SIGHUP', () => {
    logger.warn(
      { signal: 'SIGHUP' },
      'SIGHUP ignored: configuration is read at start; restart the monitor to apply changes',
    );
  });
}

async function start(): Promise<void> {
  const { config, warnings } = configOrExit();
  const secrets = secretsOf(config);
  lockTokenFiles(config);
  const logger = createLogger({ level: config.logLevel, secrets });
  for (const warning of warnings) logger.warn({ detail: warning }, 'Configuration warning');
  // Signals are handled from before the start: a SIGTERM during start-up (or right after the
  // "Monitor started" line) stops the monitor once it is up instead of killing the process
  // with its token-file locks held and a rotated pair perhaps unsaved.
  const started = startMonitor(config, { logger, secrets });
  onSignals(logger, async () => (await started).stop(), graceMs(config));
  await started;
}

async function once(json: boolean): Promise<void> {
  const { config, warnings } = configOrExit();
  const secrets = secretsOf(config);
  // Logs go to stderr so that stdout holds only the table or the JSON.
  const logger = createLogger({
    level: config.logLevel === 'info' ? 'warn' : config.logLevel,
    secrets,
    destination: process.stderr,
  });
  for (const warning of warnings) logger.warn({ detail: warning }, 'Configuration warning');
  const locks = lockTokenFiles(config);
  const monitor = buildMonitor(config, { logger, secrets });
  const reports = await monitor.pollOnce();
  await monitor.settle();
  // A refresh rotated the pair but the file could not take it: once this process exits, the
  // only working refresh token is gone. That is a failure even though the poll succeeded.
  const unsaved = new Map(monitor.unsavedTokens().map((u) => [u.portal, u.message]));
  await monitor.close();
  for (const lock of locks) lock.release();
  const results = reports.map((report) => toOnceResult(report, unsaved.get(report.portal)));
  const text = json ? JSON.stringify(results, null, 2) : formatTable(results);
  process.stdout.write(`${secrets.scrub(text)}\n`);
  process.exitCode = results.every((r) => r.ok && r.tokenFileError === null) ? 0 : 1;
}

async function demo(): Promise<void> {
  const secrets = new SecretRegistry();
  const logger = createLogger({ level: process.env['LOG_LEVEL'] ?? 'info', secrets });
  const running = await startDemo({ logger, secrets, env: process.env });
  process.stdout.write(
    `\nDemo running: simulated portal at ${running.portalUrl}\n  metrics: ${running.metricsUrl}\n  status:  ${running.statusUrl}\nPress Ctrl-C to stop.\n\n`,
  );
  onSignals(logger, () => running.stop(), SHUTDOWN_GRACE_MS);
}

async function main(argv: readonly string[]): Promise<void> {
  const [command = 'start', ...rest] = argv;
  switch (command) {
    case 'start':
      return start();
    case 'once': {
      const unknown = rest.filter((arg) => arg !== '--json');
      if (unknown.length > 0) {
        process.stderr.write(`Unknown option for once: ${unknown.join(' ')}\n\n${USAGE}`);
        process.exitCode = 2;
        return;
      }
      return once(rest.includes('--json'));
    }
    case 'auth':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(AUTH_USAGE);
        return;
      }
      process.exitCode = await runAuth(rest, {
        env: process.env,
        stdin: process.stdin,
        stdout: process.stdout,
        stderr: process.stderr,
      });
      return;
    case 'demo':
      return demo();
    case '--version':
    case '-v':
      process.stdout.write(`${VERSION}\n`);
      return;
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`Unknown command: ${command}\n\n${USAGE}`);
      process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`b24-offline-monitor: ${message}\n`);
  process.exit(1);
});
