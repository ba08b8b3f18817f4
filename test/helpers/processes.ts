/** Runs the real CLI as a child process, as a user would, and collects what it prints. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Running {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process exits. */
  readonly exited: Promise<Finished>;
}

/**
 * The real CLI (`src/cli.ts`, as test/setup/cliEntry.ts chose to start it) with exactly the given
 * environment (plus PATH).
 */
export function startCli(
  args: readonly string[],
  env: Record<string, string>,
  options: { stdin?: 'pipe' | 'ignore' } = {},
): Running {
  return startProcess(process.execPath, [...inject('cliEntry'), ...args], env, options);
}

/**
 * Every child process still running. A test that fails (or times out) before its own kill
 * would otherwise leave a daemon behind that outlives the run: test/setup/children.ts kills
 * what is left after each file, and the worker kills it when it exits.
 */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** Kills (SIGKILL) every child process still running and waits for each to be gone. */
export async function killLeftoverProcesses(): Promise<void> {
  const left = [...live];
  await Promise.all(
    left.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          if (!child.kill('SIGKILL') || child.exitCode !== null || child.signalCode !== null) {
            resolve();
          }
        }),
    ),
  );
}

export function startProcess(
  command: string,
  args: readonly string[],
  env: Record<string, string>,
  options: { stdin?: 'pipe' | 'ignore' } = {},
): Running {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.once('error', () => live.delete(child));
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<Finished>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout: out, stderr: err }));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function runCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<Finished> {
  return startCli(args, env).exited;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Polls `check` until it returns a value, or throws after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** JSON log lines of a process's output. */
export function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * The first JSON log line of a running process that `matches`, as soon as it is printed (on the
 * output event, no polling). Rejects when the process exits first, or after `timeoutMs`: a
 * generous bound, for a loaded machine, not a figure the test asserts.
 */
export async function logLine(
  run: Running,
  matches: (line: Record<string, unknown>) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<Record<string, unknown>> {
  // complete lines only: a chunk may end inside one
  const find = () => {
    const text = run.stdout();
    return jsonLines(text.slice(0, text.lastIndexOf('\n') + 1)).find(matches);
  };
  return new Promise((resolve, reject) => {
    const stdout = run.child.stdout;
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stdout?.off('data', onData);
      outcome();
    };
    const onData = () => {
      // the collector of startProcess was added first: run.stdout() already holds this chunk
      const line = find();
      if (line !== undefined) settle(() => resolve(line));
    };
    const timer = setTimeout(() => {
      settle(() => reject(new Error(`no ${what} within ${timeoutMs} ms: ${run.stderr()}`)));
    }, timeoutMs);
    stdout?.on('data', onData);
    // all output is read by then: a last line that matches still counts
    run.exited.then((finished) => {
      onData();
      settle(() =>
        reject(
          new Error(
            `exited (${finished.signal ?? finished.code}) before ${what}: ${finished.stderr}`,
          ),
        ),
      );
    }, reject);
    onData();
  });
}

/** A log line whose `msg` is `msg`. */
export const withMsg =
  (msg: string) =>
  (line: Record<string, unknown>): boolean =>
    line['msg'] === msg;

/**
 * The daemon's base URL once it is started and serving: its 'Monitor started' line, then one
 * answer of /healthz. (src/cli.ts installs its signal handlers before the start, so a signal
 * sent on seeing the line alone is handled too: shutdown.test.ts's SIGHUP test does that.)
 */
export async function daemonStarted(run: Running): Promise<string> {
  const url = String((await logLine(run, withMsg('Monitor started'), 'the start'))['url']);
  const health = await fetch(`${url}/healthz`);
  await health.body?.cancel();
  return url;
}
