/**
 * Shared pieces of the hardening suite: a fast way to run the real CLI as a child process,
 * a watch on every token the simulated OAuth server hands out, and leak scans over child
 * output and error messages.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import type { OAuthReply, SimServer } from '../../src/sim/index.js';
import { issuedSecrets } from '../helpers/harness.js';
import { ROOT, startProcess, type Finished, type Running } from '../helpers/processes.js';

// ---------------------------------------------------------------------------------------------
// The CLI as a child process

/**
 * `node --import tsx src/cli.ts` costs about 1.3 s per start on this machine, `node dist/cli.js`
 * about 0.45 s. The suite starts the CLI some 70 times, so it uses the build when it is at
 * least as new as every source file, else a one-file bundle of `src/cli.ts` made with esbuild
 * (tsx's own compiler, ~0.2 s; kept in node_modules/.cache so bare imports resolve), else tsx.
 */
let entry: Promise<readonly string[]> | undefined;

function cliEntry(): Promise<readonly string[]> {
  entry ??= chooseEntry();
  return entry;
}

/** Every source file under `dir`, with what changes when it is edited. */
async function sources(dir: string): Promise<{ path: string; mtimeMs: number; size: number }[]> {
  const out: { path: string; mtimeMs: number; size: number }[] = [];
  for (const item of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    if (item.isDirectory()) out.push(...(await sources(path)));
    else if (item.name.endsWith('.ts')) {
      const { mtimeMs, size } = await stat(path);
      out.push({ path, mtimeMs, size });
    }
  }
  return out;
}

interface Esbuild {
  build(options: Record<string, unknown>): Promise<unknown>;
}

async function chooseEntry(): Promise<readonly string[]> {
  const files = await sources(join(ROOT, 'src'));
  const newest = Math.max(...files.map((f) => f.mtimeMs));
  const built = await stat(join(ROOT, 'dist/cli.js')).catch(() => undefined);
  if (built !== undefined && built.mtimeMs >= newest) return ['dist/cli.js'];
  try {
    const specifier = 'esbuild';
    const esbuild = (await import(specifier)) as Esbuild;
    const dir = join(ROOT, 'node_modules/.cache/b24-hardening');
    await mkdir(dir, { recursive: true });
    // Named after the sources: test files share one bundle, rebuilt only after an edit.
    const hash = createHash('sha1').update(JSON.stringify(files)).digest('hex').slice(0, 12);
    const outfile = join(dir, `cli-${hash}.mjs`);
    if ((await stat(outfile).catch(() => undefined)) === undefined) {
      const temp = join(dir, `cli-${hash}.${process.pid}.tmp.mjs`);
      await esbuild.build({
        entryPoints: [join(ROOT, 'src/cli.ts')],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        packages: 'external',
        outfile: temp,
        logLevel: 'silent',
      });
      await rename(temp, outfile); // atomic: a concurrent reader never sees half a bundle
    }
    for (const name of await readdir(dir)) {
      const path = join(dir, name);
      const old = Date.now() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0);
      if (path !== outfile && old > 10 * 60_000) await rm(path, { force: true });
    }
    return [outfile];
  } catch {
    return ['--import', 'tsx', 'src/cli.ts'];
  }
}

/** Every output of a child process of this file, for the leak scan. */
const childOutputs: string[] = [];

export async function startMonitorCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<Running> {
  const running = startProcess(process.execPath, [...(await cliEntry()), ...args], env);
  running.exited.then(
    (finished) => childOutputs.push(finished.stdout, finished.stderr),
    (error: unknown) => childOutputs.push(String(error)),
  );
  return running;
}

export async function runMonitorCli(
  args: readonly string[],
  env: Record<string, string>,
): Promise<Finished> {
  return (await startMonitorCli(args, env)).exited;
}

// ---------------------------------------------------------------------------------------------
// Secrets

export interface TokenIssue {
  readonly at: number;
  readonly status: number;
  readonly refreshToken?: string | undefined;
  readonly error?: string | undefined;
}

/**
 * Wraps the simulated OAuth server so that every token it hands out joins the leak scan, and
 * every refresh is seen by the test (synchronously, in the same tick as the answer is made).
 */
export function watchTokens(sim: SimServer, onIssue?: (issue: TokenIssue) => void): void {
  const original = sim.oauth.handleToken.bind(sim.oauth);
  sim.oauth.handleToken = (params): OAuthReply => {
    const reply = original(params);
    if (reply.kind === 'json') {
      const body = reply.body as Record<string, unknown>;
      for (const key of ['access_token', 'refresh_token']) {
        const value = body[key];
        if (typeof value === 'string') issuedSecrets.add(value);
      }
      onIssue?.({
        at: performance.now(),
        status: reply.status,
        refreshToken: typeof body['refresh_token'] === 'string' ? body['refresh_token'] : undefined,
        error: typeof body['error'] === 'string' ? body['error'] : undefined,
      });
    } else {
      onIssue?.({ at: performance.now(), status: 0, error: reply.kind });
    }
    return reply;
  };
}

/** Messages of an error and of its causes. */
export function messagesOf(error: unknown): string[] {
  const out: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 10; depth += 1) {
    out.push(current.message);
    current = current.cause;
  }
  return out;
}

/**
 * After all tests of the file: no secret of `issuedSecrets` (or of `extra`) appears in any
 * child output or in any of `texts` (error messages collected by the tests).
 */
export function scanTextsForSecretsAfterAll(
  texts: readonly string[],
  extra: () => readonly string[] = () => [],
): void {
  afterAll(() => {
    const secrets = [...issuedSecrets, ...extra()].filter((s) => s.length >= 8);
    const leaks: string[] = [];
    for (const text of [...texts, ...childOutputs]) {
      for (const secret of secrets) {
        if (!text.includes(secret)) continue;
        const at = text.indexOf(secret);
        const around = text.slice(Math.max(0, at - 80), at + secret.length + 80);
        leaks.push(`${secret.slice(0, 4)}… in …${around.split(secret).join('<secret>')}…`);
      }
    }
    expect(secrets.length).toBeGreaterThan(0);
    expect(leaks).toEqual([]);
  });
}
