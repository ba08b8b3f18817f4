/**
 * External programs the ops checks run. A required program that is missing fails the test
 * when `CI` is set (CI installs it) and skips it, saying why, on a developer's machine.
 * An optional one is skipped whenever it is missing.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'vitest';
import { REPO_ROOT } from './queries.js';

export interface Tool {
  readonly name: string;
  /** How to get it, for the skip or failure message. */
  readonly install: string;
  /** Missing in CI is a failure. */
  readonly requiredInCi: boolean;
  /** Absolute path, or a path relative to the repository (node_modules/.bin). */
  readonly candidates?: readonly string[];
}

export const PROMTOOL: Tool = {
  name: 'promtool',
  install: 'apt-get install prometheus',
  requiredInCi: true,
};
/** The Prometheus server itself (Debian's package brings it with promtool). */
export const PROMETHEUS: Tool = {
  name: 'prometheus',
  install: 'apt-get install prometheus',
  requiredInCi: true,
};
export const AMTOOL: Tool = {
  name: 'amtool',
  install: 'apt-get install prometheus-alertmanager',
  requiredInCi: false,
};
/** Docker Compose v1 (Debian's docker-compose 1.29): `config -q` validates offline. */
export const DOCKER_COMPOSE_V1: Tool = {
  name: 'docker-compose',
  install: 'apt-get install docker-compose',
  requiredInCi: false,
};
export const DCLINT: Tool = {
  name: 'dclint',
  install: 'npm ci (dev dependency dclint)',
  requiredInCi: true,
  candidates: ['node_modules/.bin/dclint'],
};
export const DOCKERFILE_UTILS: Tool = {
  name: 'dockerfile-utils',
  install: 'npm ci (dev dependency dockerfile-utils)',
  requiredInCi: true,
  candidates: ['node_modules/.bin/dockerfile-utils'],
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findTool(tool: Tool): string | undefined {
  for (const candidate of tool.candidates ?? []) {
    const path = candidate.startsWith('/') ? candidate : join(REPO_ROOT, candidate);
    if (isExecutable(path)) return path;
  }
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const path = join(dir, tool.name);
    if (isExecutable(path)) return path;
  }
  return undefined;
}

/** The tool's path; otherwise fails (CI, required) or skips the running test. */
export function needTool(ctx: TestContext, tool: Tool): string {
  const path = findTool(tool);
  if (path !== undefined) return path;
  const missing = `${tool.name} not found on PATH (install: ${tool.install})`;
  if (tool.requiredInCi && process.env['CI']) {
    throw new Error(`${missing}; it is required in CI`);
  }
  return ctx.skip(`${missing}; skipped${tool.requiredInCi ? ' (CI=1 makes this a failure)' : ''}`);
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr together, for assertion messages. */
  readonly output: string;
}

export function run(
  command: string,
  args: readonly string[],
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {},
): RunResult {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  const stdout = result.stdout;
  const stderr = result.stderr;
  return { status: result.status, stdout, stderr, output: `${stdout}\n${stderr}` };
}
