/**
 * `auth` in-process: runAuth is what the CLI calls with the arguments after `auth`, with the
 * process's environment and standard streams; its result is the exit code. The behaviours
 * that need a real process (its standard input, its exit code for a usage error, another pid
 * holding the token file's lock) keep a spawn each in their test files.
 */
import { PassThrough } from 'node:stream';
import { runAuth } from '../../src/cli/auth.js';

export interface AuthRun {
  readonly stdin: PassThrough;
  stdout(): string;
  readonly exited: Promise<{ code: number; stdout: string; stderr: string }>;
}

export function startAuth(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): AuthRun {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = runAuth(args, { env, stdin, stdout, stderr }).then((code) => ({
    code,
    stdout: out,
    stderr: err,
  }));
  return { stdin, stdout: () => out, exited };
}
