/**
 * Soak: 50 SIGTERMs to the real daemon while its token refresh is on the wire (the OAuth
 * server has rotated the pair and holds its answer 1.5 s), every other one followed by a
 * second SIGTERM 50 ms later. Every start authenticates with the pair the last one saved:
 * 0 pairs lost, every exit 0, no sidecar, temporary or lock file left behind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimServer, type SimPortal } from '../../src/sim/index.js';
import { portalEnv } from '../helpers/env.js';
import { issuedSecrets } from '../helpers/harness.js';
import { sigtermDuringRefresh, type CycleContext, type CycleResult } from './shutdownCycle.js';
import { startSlowOAuth, type SlowOAuth } from './slowOAuth.js';
import { runMonitorCli, scanTextsForSecretsAfterAll, watchTokens } from './support.js';

const CYCLES = 50;
let sim: SimServer;
let portal: SimPortal;
let slow: SlowOAuth;
let dir: string;
let latest = '';
let refusals = 0;
let ctx: CycleContext;

scanTextsForSecretsAfterAll([], () => [portal.clientSecret]);

beforeAll(async () => {
  sim = await SimServer.start();
  portal = sim.addPortal('acme', { rateLimit: null, events: ['ONCRMLEADADD'] });
  portal.fill({ counts: { ONCRMLEADADD: { queued: 3, error: 1 } } });
  watchTokens(sim, (issue) => {
    if (issue.status === 200 && issue.refreshToken !== undefined) latest = issue.refreshToken;
    else refusals += 1;
  });
  slow = await startSlowOAuth(sim.oauthUrl, 1_500);
  dir = await mkdtemp(join(tmpdir(), 'b24-sigterm-soak-'));
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
      // the seed is used up by the first refresh: every later start lives on the saved pair
      ...portalEnv(sim, portal, { refreshToken: seed.refreshToken, tokenFile, name: 'acme' }),
      B24_OAUTH_URL: slow.url,
      MONITOR_LISTEN: '127.0.0.1:0',
    },
  };
});

afterAll(async () => {
  await slow.close();
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

describe(`${CYCLES} SIGTERMs during slow refreshes`, () => {
  it('lose no pair', async () => {
    const results: (CycleResult & { signals: number })[] = [];
    for (let i = 0; i < CYCLES; i++) {
      const signals = i % 2 === 0 ? 1 : 2;
      results.push({ ...(await sigtermDuringRefresh(ctx, signals)), signals });
    }
    const final = await runMonitorCli(['once', '--json'], {
      ...ctx.env,
      B24_OAUTH_URL: sim.oauthUrl,
    });
    const summary = {
      cycles: results.length,
      doubleSigterm: results.filter((r) => r.signals === 2).length,
      answerArrivedAfterTheSignal: results.filter((r) => r.answerAfterSignal).length,
      exit0: results.filter((r) => r.code === 0).length,
      pairsSaved: results.filter((r) => r.saved).length,
      pairsLost: results.filter((r) => !r.saved).length,
      refusedRefreshes: refusals,
      filesLeft: results.flatMap((r) => r.leftovers).length,
    };
    process.stdout.write(`[soak] sigterm: ${JSON.stringify(summary)}\n`);

    expect(summary.answerArrivedAfterTheSignal).toBe(CYCLES);
    expect(summary.exit0).toBe(CYCLES);
    expect(summary.pairsLost).toBe(0);
    expect(summary.refusedRefreshes).toBe(0);
    expect(summary.filesLeft).toBe(0);
    expect(final.code, final.stderr).toBe(0);
  });
});
