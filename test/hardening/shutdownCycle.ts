/**
 * One start of the real daemon whose first poll refreshes through a slow OAuth server, and a
 * SIGTERM (or two) while the rotated pair's answer is still on its way. Shared by the test
 * and the soak of shutdown.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { jsonLines } from '../helpers/processes.js';
import type { SimPortal } from '../../src/sim/index.js';
import type { SlowOAuth } from './slowOAuth.js';
import { startMonitorCli } from './support.js';

export interface CycleContext {
  readonly portal: SimPortal;
  readonly slow: SlowOAuth;
  readonly env: Record<string, string>;
  readonly tokenFile: string;
  readonly dir: string;
  /** The refresh token the OAuth server issued last: the only one that works. */
  latest(): string;
}

export interface CycleResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The file holds the refresh token issued last. */
  readonly saved: boolean;
  /** `.pending`, `.tmp` or `.lock` files left in the token directory. */
  readonly leftovers: string[];
  /** The answer of the refresh arrived after the first SIGTERM. */
  readonly answerAfterSignal: boolean;
  readonly messages: string[];
  readonly stderr: string;
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export async function sigtermDuringRefresh(
  ctx: CycleContext,
  signals: 1 | 2,
): Promise<CycleResult> {
  ctx.portal.expireAccessTokens();
  const forwarded = ctx.slow.forwarded;
  const answered = ctx.slow.answered;
  const run = await startMonitorCli(['start'], ctx.env);
  // the OAuth server has rotated the pair; its answer is held back
  await until(() => ctx.slow.forwarded > forwarded, 20_000, 'a refresh on the wire');
  run.child.kill('SIGTERM');
  const answerAfterSignal = ctx.slow.answered === answered;
  if (signals === 2) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    run.child.kill('SIGTERM');
  }
  const finished = await run.exited;
  let onDisk = '';
  try {
    onDisk = (JSON.parse(readFileSync(ctx.tokenFile, 'utf8')) as { refreshToken: string })
      .refreshToken;
  } catch {
    // no file: not saved
  }
  return {
    code: finished.code,
    signal: finished.signal,
    saved: onDisk === ctx.latest(),
    leftovers: readdirSync(ctx.dir).filter((n) => /\.(pending|tmp|lock)$/.test(n)),
    answerAfterSignal,
    messages: jsonLines(finished.stdout).map((l) => String(l['msg'])),
    stderr: finished.stderr,
  };
}
