/**
 * Soak: 50 SIGTERMs to the real daemon while its token refresh is on the wire (the OAuth
 * server has rotated the pair and holds its answer 1.5 s), every other one followed by a
 * second SIGTERM 50 ms later. Every start authenticates with the pair the last one saved:
 * 0 pairs lost, every exit 0, no sidecar, temporary or lock file left behind. And one refresh
 * held 9 s, longer than the old fixed 8-s grace (moved here from shutdown.test.ts: it waits).
 */
import { describe, expect, it } from 'vitest';
import { sigtermDuringRefresh, useShutdownCycles, type CycleResult } from './shutdownCycle.js';
import { runMonitorCli } from './support.js';

const CYCLES = 50;
const setup = useShutdownCycles('sigterm-soak', { queued: { queued: 3, error: 1 } });

describe(`${CYCLES} SIGTERMs during slow refreshes`, () => {
  it('lose no pair', async () => {
    const results: (CycleResult & { signals: number })[] = [];
    for (let i = 0; i < CYCLES; i++) {
      const signals = i % 2 === 0 ? 1 : 2;
      results.push({ ...(await sigtermDuringRefresh(setup.ctx, signals)), signals });
    }
    const final = await runMonitorCli(['once', '--json'], {
      ...setup.ctx.env,
      B24_OAUTH_URL: setup.sim.oauthUrl,
    });
    const summary = {
      cycles: results.length,
      doubleSigterm: results.filter((r) => r.signals === 2).length,
      answerArrivedAfterTheSignal: results.filter((r) => r.answerAfterSignal).length,
      exit0: results.filter((r) => r.code === 0).length,
      pairsSaved: results.filter((r) => r.saved).length,
      pairsLost: results.filter((r) => !r.saved).length,
      refusedRefreshes: setup.refusals,
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

describe('SIGTERM during a refresh slower than the old 8-s grace', () => {
  it('waits for it (up to its own 15-s timeout), saves the pair, exits 0', async () => {
    setup.ctx.slow.delayMs = 9_000;
    try {
      const result = await sigtermDuringRefresh(setup.ctx, 1);

      expect(result.code, result.stderr).toBe(0);
      expect(result.saved).toBe(true);
      expect(result.leftovers).toEqual([]);
    } finally {
      setup.ctx.slow.delayMs = 1_500;
    }
  });
});
