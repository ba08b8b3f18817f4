/**
 * The daemon and the demo as processes: `npm run demo` serves non-zero queue metrics, and
 * SIGTERM / SIGINT stop cleanly with exit code 0. How soon the demo has metrics (about a
 * second on an idle machine) is not asserted: a loaded machine is no verdict.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimPortal, SimServer } from '../../src/sim/index.js';
import { portalEnv, startAcme } from '../helpers/env.js';
import { parsePromText, select } from '../helpers/promText.js';
import {
  freePort,
  jsonLines,
  logLine,
  startCli,
  startProcess,
  waitFor,
  withMsg,
} from '../helpers/processes.js';

async function metrics(port: number) {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  return parsePromText(await response.text());
}

describe('npm run demo', () => {
  it('serves non-zero b24_offline_events and stops on SIGINT', async () => {
    const port = await freePort();
    // a shell already set up for a real portal must not get in the demo's way
    const demo = startProcess('npm', ['run', '--silent', 'demo'], {
      MONITOR_LISTEN: `127.0.0.1:${port}`,
      MONITOR_CONFIG: '/nonexistent/monitor.yaml',
      B24_PORTAL_URL: 'https://real.example.com/rest/',
      B24_REFRESH_TOKEN_FILE: '/nonexistent/refresh-token',
    });

    try {
      const events = await waitFor(
        async () => {
          const found = select(await metrics(port), 'b24_offline_events').filter(
            (s) => s.value > 0,
          );
          return found.length > 0 ? found : undefined;
        },
        45_000,
        'non-zero b24_offline_events',
      );

      expect(events[0]?.labels['portal']).toBe('demo');
      expect(demo.stdout()).toContain(`http://127.0.0.1:${port}/metrics`);
      const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
      expect(page).toContain('<a href="/portal/demo">demo</a>');
    } finally {
      demo.child.kill('SIGINT');
    }
    const finished = await demo.exited;
    expect(finished.code).toBe(0);
  }, 60_000);
});

describe('start', () => {
  let sim: SimServer;
  let portal: SimPortal;
  let dir: string;
  beforeAll(async () => {
    ({ sim, portal } = await startAcme({ queued: 12 }));
    dir = await mkdtemp(join(tmpdir(), 'b24-start-'));
  });
  afterAll(async () => {
    expect(new Set(portal.journal.methodsBy('monitor'))).toEqual(
      new Set(['batch', 'event.get', 'event.offline.list']),
    );
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  // One start per signal path: SIGINT here, SIGTERM in the next test (one handler takes both).
  it('polls, is ready, and exits 0 within seconds of SIGINT', async () => {
    const signal = 'SIGINT';
    const seed = portal.authorize('monitor');
    const run = startCli(['start'], {
      ...portalEnv(sim, portal, {
        refreshToken: seed.refreshToken,
        tokenFile: join(dir, `${signal}.tokens.json`),
      }),
      MONITOR_LISTEN: '127.0.0.1:0',
      MONITOR_SCHEDULE: '*/2 * * * * *',
    });

    // the first successful poll is what makes the daemon ready: wait for it, not a clock
    const { url } = await logLine(run, withMsg('Monitor started'), 'the start');
    await logLine(run, withMsg('Poll finished'), 'the first poll');
    const ready = await fetch(`${String(url)}/readyz`);
    const health = await fetch(`${String(url)}/healthz`);
    const stopAt = Date.now();
    run.child.kill(signal);
    const finished = await run.exited;

    expect(ready.status).toBe(200);
    expect(health.status).toBe(200);
    expect(finished.code).toBe(0);
    expect(Date.now() - stopAt).toBeLessThan(5_000);
    const lines = jsonLines(finished.stdout);
    expect(lines.find((l) => l['msg'] === 'Poll finished')).toMatchObject({
      portal: new URL(portal.restUrl).host,
      depth: 12,
      queued: 12,
    }); // default name: the URL's host
    expect(lines.at(-1)).toMatchObject({ msg: 'Monitor stopped' });
    expect(finished.stdout).not.toContain(seed.refreshToken);
    expect(finished.stdout).not.toContain(portal.clientSecret);
  });

  it('aborts a poll in flight on SIGTERM and still exits 0 within seconds', async () => {
    const port = await freePort();
    const hanging = sim.addPortal('hanging', { rateLimit: null, events: ['ONCRMLEADADD'] });
    const seed = hanging.authorize('monitor');
    hanging.faults.set({ hangRate: 1 });
    const run = startCli(['start'], {
      ...portalEnv(sim, hanging, {
        refreshToken: seed.refreshToken,
        accessToken: seed.accessToken,
        tokenFile: join(dir, 'hang.tokens.json'),
      }),
      MONITOR_LISTEN: `127.0.0.1:${port}`,
    });

    try {
      await waitFor(
        async () =>
          hanging.journal.list({ holder: 'monitor', method: 'batch' }).length > 0
            ? true
            : undefined,
        30_000,
        'a request to the hanging portal',
      );
    } finally {
      hanging.faults.reset();
    }
    const stopAt = Date.now();
    run.child.kill('SIGTERM');
    const finished = await run.exited;

    expect(finished.code).toBe(0);
    expect(Date.now() - stopAt).toBeLessThan(5_000);
    const lines = jsonLines(finished.stdout);
    expect(lines.some((l) => l['msg'] === 'Poll aborted: shutting down')).toBe(true);
    expect(lines.some((l) => String(l['msg']).startsWith('Poll failed'))).toBe(false);
    expect(lines.at(-1)).toMatchObject({ msg: 'Monitor stopped' });
    expect(finished.stdout).not.toContain(seed.refreshToken);
    expect(finished.stdout).not.toContain(hanging.clientSecret);
  });
});
