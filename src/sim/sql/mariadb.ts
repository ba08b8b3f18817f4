/**
 * A private MariaDB server for the SQL-backed portal (tests and the bench): a fresh datadir
 * made with `mariadb-install-db`, `mariadbd` on a Unix socket in it, no TCP, no system
 * service; stopped (and its datadir removed) by `stop()`. Debian's `mariadb-server` provides
 * both programs; `findMariaDb()` says whether they are here.
 */
import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

export interface MariaDbPrograms {
  readonly server: string;
  readonly installDb: string;
}

export interface MariaDbOptions {
  /** InnoDB buffer pool, MiB: enough for a million rows and their indexes. @default 512 */
  readonly bufferPoolMb?: number;
  /** Give up waiting for the socket after this long. @default 60 000 */
  readonly startTimeoutMs?: number;
}

export interface MariaDb {
  /** The Unix socket to connect to (user `root`, no password). */
  readonly socket: string;
  readonly dataDir: string;
  readonly version: string;
  stop(): Promise<void>;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function which(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), ...SEARCH_DIRS];
  for (const dir of dirs) {
    if (dir !== '' && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The server and installer programs, or null when MariaDB is not installed. */
export function findMariaDb(): MariaDbPrograms | null {
  const server = which('mariadbd');
  const installDb = which('mariadb-install-db');
  return server === undefined || installDb === undefined ? null : { server, installDb };
}

function socketAnswers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(socket);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-15).join('\n');
}

/** Installs a datadir and starts `mariadbd` on a socket in it; resolves once it accepts. */
export async function startMariaDb(options: MariaDbOptions = {}): Promise<MariaDb> {
  const programs = findMariaDb();
  if (programs === null)
    throw new Error('MariaDB is not installed (apt-get install mariadb-server)');
  const root = await mkdtemp(join(tmpdir(), 'b24-mariadb-'));
  const dataDir = join(root, 'data');
  const socket = join(root, 's.sock');
  const errorLog = join(root, 'error.log');
  await promisify(execFile)(programs.installDb, [
    '--user=root',
    `--datadir=${dataDir}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    '--skip-name-resolve',
  ]);
  const child: ChildProcess = spawn(
    programs.server,
    [
      '--no-defaults',
      '--user=root',
      `--datadir=${dataDir}`,
      `--socket=${socket}`,
      `--pid-file=${join(root, 'mariadbd.pid')}`,
      `--log-error=${errorLog}`,
      '--skip-networking',
      '--skip-name-resolve',
      `--innodb-buffer-pool-size=${options.bufferPoolMb ?? 512}M`,
      // a test server: losing the last second of writes in a crash costs nothing
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-doublewrite=0',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_general_ci',
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  child.once('exit', () => (exited = true));
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  while (!(await socketAnswers(socket))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      const tail = await logTail(errorLog);
      await rm(root, { recursive: true, force: true });
      throw new Error(`mariadbd did not start:\n${tail}`);
    }
    await delay(50);
  }
  const version = (await promisify(execFile)(programs.server, ['--version'])).stdout.trim();
  return {
    socket,
    dataDir,
    version,
    async stop() {
      if (!exited) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(timer);
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}
