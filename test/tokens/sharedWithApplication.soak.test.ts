/**
 * One authorization shared by the application and the monitor through Redis: a stand-in
 * application (a separate Node process using `b24-offline-monitor/token-store`) and the
 * monitor (the real CLI, MONITOR_TOKEN_STORE=redis://...) use one token pair side by side
 * while both force refreshes — the application on its own every fifth call (busy 4 s, then
 * quiet until the monitor has refreshed the pair), and both because access tokens live only
 * 2 s (the monitor polls every second). No refresh may be refused: counted by the simulated
 * OAuth server (`invalid_grant`); each side takes pairs the other refreshed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimServer, type SimPortal } from '../../src/sim/index.js';
import { keysOf } from '../../src/tokens/redisProtocol.js';
import { portalEnv } from '../helpers/env.js';
import { freePort, jsonLines, startProcess, type Running } from '../helpers/processes.js';
import { parsePromText, select } from '../helpers/promText.js';
import {
  countOAuthAnswers,
  haveRedis,
  needRedis,
  startRedis,
  type TestRedis,
} from '../helpers/redis.js';
import { startMonitorCli } from '../hardening/support.js';

let sim: SimServer;
let portal: SimPortal;
let redis: TestRedis | undefined;
let dir: string;
const running: Running[] = [];

beforeAll(async () => {
  sim = await SimServer.start();
  portal = sim.addPortal('shared', { rateLimit: null, accessTokenTtlSec: 2 });
  dir = await mkdtemp(join(tmpdir(), 'b24-shared-'));
  if (haveRedis()) redis = await startRedis();
});

afterAll(async () => {
  for (const process of running) {
    if (process.child.exitCode === null) process.child.kill('SIGKILL');
    await process.exited;
  }
  await redis?.stop();
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

async function scrape(url: string): Promise<ReturnType<typeof parsePromText>> {
  return parsePromText(await (await fetch(url)).text());
}

function sum(samples: ReturnType<typeof parsePromText>, name: string): number {
  return select(samples, name).reduce((total, s) => total + s.value, 0);
}

describe('the application and the monitor on one token pair', () => {
  it(
    'refresh more than 100 times between them, forced by both sides, and none is refused',
    {
      timeout: 200_000,
    },
    async (ctx) => {
      needRedis(ctx);
      const oauth = countOAuthAnswers(sim);
      const seed = portal.authorize('shared');
      const port = await freePort();
      const metricsUrl = `http://127.0.0.1:${port}/metrics`;
      const monitor = await startMonitorCli(['start'], {
        ...portalEnv(sim, portal, {
          refreshToken: seed.refreshToken,
          accessToken: seed.accessToken,
          tokenFile: join(dir, 'unused.json'),
          name: 'acme.bitrix24.com',
        }),
        MONITOR_TOKEN_STORE: redis!.url,
        MONITOR_LISTEN: `127.0.0.1:${port}`,
        MONITOR_SCHEDULE: '* * * * * *',
      });
      running.push(monitor);
      // the monitor stores the pair at its first refresh
      portal.expireAccessTokens();
      const key = keysOf('acme.bitrix24.com').pair;
      await expect.poll(() => redis!.client.exists(key), { timeout: 15_000 }).toBe(1);

      const application = startProcess(
        process.execPath,
        ['--conditions=source', '--import', 'tsx', 'test/tokens/fixtures/application.ts'],
        {
          REDIS_URL: redis!.url,
          PORTAL: 'acme.bitrix24.com',
          REST_URL: portal.restUrl,
          CLIENT_ID: portal.clientId,
          CLIENT_SECRET: portal.clientSecret,
          OAUTH_URL: sim.oauthUrl,
          PAUSE_MS: '40',
          // quiet for longer than the access token's 2 s plus the monitor's 1-s schedule, so that
          // the monitor, not the application's next busy phase, meets each expired token first
          PHASE_MS: '4000',
        },
      );
      running.push(application);
      let monitorRefreshes: number;
      const deadline = Date.now() + 150_000;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        monitorRefreshes = sum(await scrape(metricsUrl), 'b24_offline_oauth_refreshes_total');
        const applicationRefreshes = oauth.granted() - monitorRefreshes;
        if (oauth.granted() >= 110 && monitorRefreshes >= 10 && applicationRefreshes >= 40) break;
        if (Date.now() > deadline || application.child.exitCode !== null) {
          throw new Error(
            `not enough refreshes: ${oauth.granted()} granted, ${monitorRefreshes} by the monitor; ` +
              `application: ${application.stdout()} ${application.stderr()}`,
          );
        }
      }
      application.child.kill('SIGTERM');
      const finished = await application.exited;
      const summary = jsonLines(finished.stdout).at(-1) as {
        exchanges: number;
        taken: number;
        handovers: number;
        failures: string[];
      };
      expect(finished.stderr).toBe('');
      expect(summary.failures).toEqual([]);
      expect(summary.exchanges).toBeGreaterThanOrEqual(40);
      // both sides took pairs the other refreshed: each quiet phase of the application ends on a
      // pair the monitor has just refreshed, which its next refresh takes
      expect(summary.handovers).toBeGreaterThan(0);
      expect(summary.taken).toBeGreaterThan(0);

      // after the last expiry both go on: the monitor's next poll is good
      const pollsBefore = sum(await scrape(metricsUrl), 'b24_offline_polls_total');
      await expect
        .poll(async () => sum(await scrape(metricsUrl), 'b24_offline_polls_total'), {
          timeout: 10_000,
        })
        .toBeGreaterThan(pollsBefore + 1);
      const samples = await scrape(metricsUrl);
      expect(sum(samples, 'b24_offline_up')).toBe(1);
      expect(sum(samples, 'b24_offline_token_store_up')).toBe(1);
      expect(sum(samples, 'b24_offline_oauth_refresh_failures_total')).toBe(0);
      expect(sum(samples, 'b24_offline_poll_failures_total')).toBe(0);
      console.info(
        `shared pair: ${oauth.granted()} refreshes granted (monitor ${monitorRefreshes}, ` +
          `application ${summary.exchanges}), application took ${summary.taken} stored pairs ` +
          `after ${summary.handovers} handovers, ` +
          `monitor polls failed: ${sum(samples, 'b24_offline_poll_failures_total')}`,
      );
      // the target: counted by the portal's OAuth server, not by the monitor
      expect(oauth.granted()).toBeGreaterThanOrEqual(100);
      expect(oauth.refused()).toBe(0);

      monitor.child.kill('SIGTERM');
      const stopped = await monitor.exited;
      expect(stopped.code).toBe(0);
      const lines = jsonLines(stopped.stdout);
      expect(
        lines.filter((l) => l['msg'] === 'Token pair taken from the shared token store').length,
      ).toBeGreaterThan(0);
      expect(
        lines.filter(
          (l) => l['msg'] === 'Token refresh refused: the application must be re-authorized',
        ),
      ).toEqual([]);
    },
  );
});
