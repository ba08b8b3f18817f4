/**
 * One start of the real daemon whose first poll refreshes through a slow OAuth server, and a
 * SIGTERM (or two) while the rotated pair's answer is still on its way. Shared by the test
 * and the soak of shutdown.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { SimServer } from '../../src/sim/index.js';
import { type SimPortal } from '../../src/sim/index.js';
import { portalEnv, startAcme } from '../helpers/env.js';
import { issuedSecrets } from '../helpers/harness.js';
import { jsonLines } from '../helpers/processes.js';
import { startSlowOAuth, type SlowOAuth } from './slowOAuth.js';
import { scanTextsForSecretsAfterAll, startMonitorCli, watchTokens } from './support.js';

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

export interface CycleSetup {
  readonly sim: SimServer;
  readonly ctx: CycleContext;
  /** Token requests the OAuth server refused. */
  readonly refusals: number;
}

/**
 * For a test file: one simulated portal seeded with a pair, the slow OAuth server in front
 * (answers held 1.5 s), a token directory, the leak scan over every child's output; stopped
 * after the file. The seed is used up by the first refresh: every later start lives on the
 * pair the last one saved. Read the fields inside tests (they are set in beforeAll).
 */
export function useShutdownCycles(
  name: string,
  options: { queued: Parameters<typeof startAcme>[0]; env?: Record<string, string> },
): CycleSetup {
  let latest = '';
  const setup = { refusals: 0 } as { sim: SimServer; ctx: CycleContext; refusals: number };
  let dir = '';

  scanTextsForSecretsAfterAll([], () => [setup.ctx.portal.clientSecret]);

  beforeAll(async () => {
    const { sim, portal } = await startAcme(options.queued);
    watchTokens(sim, (issue) => {
      if (issue.status === 200 && issue.refreshToken !== undefined) latest = issue.refreshToken;
      else setup.refusals += 1;
    });
    const slow = await startSlowOAuth(sim.oauthUrl, 1_500);
    dir = await mkdtemp(join(tmpdir(), `b24-${name}-`));
    const seed = portal.authorize('monitor');
    issuedSecrets.add(seed.refreshToken).add(seed.accessToken);
    latest = seed.refreshToken;
    const tokenFile = join(dir, 'acme.tokens.json');
    setup.sim = sim;
    setup.ctx = {
      portal,
      slow,
      tokenFile,
      dir,
      latest: () => latest,
      env: {
        ...portalEnv(sim, portal, { refreshToken: seed.refreshToken, tokenFile, name: 'acme' }),
        B24_OAUTH_URL: slow.url,
        MONITOR_LISTEN: '127.0.0.1:0',
        ...options.env,
      },
    };
  });

  afterAll(async () => {
    await setup.ctx.slow.close();
    await setup.sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  return setup;
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
