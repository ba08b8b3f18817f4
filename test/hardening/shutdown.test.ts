/**
 * Shutdown never loses a rotated pair, a second signal does not kill, SIGHUP is not a silent
 * death: the real daemon against the simulated portal behind a slow OAuth server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimServer, type SimPortal } from '../../src/sim/index.js';
import { portalEnv } from '../helpers/env.js';
import { issuedSecrets } from '../helpers/harness.js';
import { jsonLines, waitFor } from '../helpers/processes.js';
import { sigtermDuringRefresh, type CycleContext } from './shutdownCycle.js';
import { startSlowOAuth, type SlowOAuth } from './slowOAuth.js';
import { scanTextsForSecretsAfterAll, startMonitorCli, watchTokens } from './support.js';

let sim: SimServer;
let portal: SimPortal;
let slow: SlowOAuth;
let dir: string;
let latest = '';
let ctx: CycleContext;

scanTextsForSecretsAfterAll([], () => [portal.clientSecret]);

beforeAll(async () => {
  sim = await SimServer.start();
  portal = sim.addPortal('acme', { rateLimit: null, events: ['ONCRMLEADADD'] });
  portal.fill({ counts: { ONCRMLEADADD: { queued: 3 } } });
  watchTokens(sim, (issue) => {
    if (issue.status === 200 && issue.refreshToken !== undefined) latest = issue.refreshToken;
  });
  slow = await startSlowOAuth(sim.oauthUrl, 1_500);
  dir = await mkdtemp(join(tmpdir(), 'b24-shutdown-'));
  const seed = portal.authorize('monitor');
  issuedSecrets.add(seed.refreshToken).add(seed.accessToken);
  latest = seed.refreshToken;
  const tokenFile = join(dir, 'acme.tokens.json');
  ctx = {
    portal,
    slow,
    tokenFile,
    dir,
    latest: () => latest,
    env: {
      ...portalEnv(sim, portal, { refreshToken: seed.refreshToken, tokenFile, name: 'acme' }),
      B24_OAUTH_URL: slow.url,
      MONITOR_LISTEN: '127.0.0.1:0',
      MONITOR_SCHEDULE: '*/30 * * * * *',
    },
  };
});

afterAll(async () => {
  await slow.close();
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe('SIGTERM during a slow token refresh', () => {
  it('waits for the answer, saves the pair durably, exits 0 and leaves no sidecar', async () => {
    const result = await sigtermDuringRefresh(ctx, 1);

    expect(result.answerAfterSignal).toBe(true);
    expect(result.code, result.stderr).toBe(0);
    expect(result.saved).toBe(true);
    expect(result.leftovers).toEqual([]);
    expect(result.messages).toContain('Access token refreshed');
    expect(result.messages.at(-1)).toBe('Monitor stopped');
  });

  it('waits for a refresh slower than the old 8-s grace (up to its own 15-s timeout)', async () => {
    slow.delayMs = 9_000;
    try {
      const result = await sigtermDuringRefresh(ctx, 1);

      expect(result.code, result.stderr).toBe(0);
      expect(result.saved).toBe(true);
      expect(result.leftovers).toEqual([]);
    } finally {
      slow.delayMs = 1_500;
    }
  });

  it('a second SIGTERM is logged, not a death: the pair is still saved', async () => {
    const result = await sigtermDuringRefresh(ctx, 2);

    expect(result.code, result.stderr).toBe(0);
    expect(result.saved).toBe(true);
    expect(result.leftovers).toEqual([]);
    expect(result.messages).toContain('Shutdown already in progress; waiting for it to finish');
  });
});

describe('SIGHUP', () => {
  it('is ignored with a log line; the daemon keeps serving', async () => {
    const run = await startMonitorCli(['start'], { ...ctx.env, B24_OAUTH_URL: sim.oauthUrl });
    const started = await waitFor(
      async () => jsonLines(run.stdout()).find((l) => l['msg'] === 'Monitor started'),
      15_000,
      'the start',
    );

    run.child.kill('SIGHUP');
    await waitFor(
      async () => (run.stdout().includes('SIGHUP ignored') ? true : undefined),
      5_000,
      'the SIGHUP line',
    );
    const health = await fetch(`${String(started['url'])}/healthz`);
    run.child.kill('SIGTERM');
    const finished = await run.exited;

    expect(health.status).toBe(200);
    expect(finished.code).toBe(0);
    expect(jsonLines(finished.stdout)).toContainEqual(
      expect.objectContaining({ level: 'warn', signal: 'SIGHUP' }),
    );
  });
});
