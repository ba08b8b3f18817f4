/**
 * Shards on one config and one Redis, as real processes (the CLI) against simulated portals:
 * ownership, a rolling resize from 3 to 4 shards with every access token expired, a shard
 * killed with SIGKILL while refreshes run, and Redis restarted during polling. Refusals of
 * refresh tokens are counted by the simulated OAuth server, not by the monitors.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerOf } from '../../src/shard/rendezvous.js';
import { SimServer } from '../../src/sim/index.js';
import {
  countOAuthAnswers,
  haveRedis,
  needRedis,
  startRedis,
  type TestRedis,
} from '../helpers/redis.js';
import {
  allShards,
  linesOf,
  makeFleet,
  startShard,
  stopShard,
  viewFleet,
  type FleetPortal,
  type Shard,
} from './fleet.js';

const PORTALS = 40;
const INTERVAL_S = 3;
const SCHEDULE = `*/${INTERVAL_S} * * * * *`;

let sim: SimServer;
let redis: TestRedis | undefined;
let dir: string;
let portals: FleetPortal[];
let configFile: string;
let oauth: ReturnType<typeof countOAuthAnswers>;
/** The shards running now, by shard number. */
let shards: Shard[] = [];

beforeAll(async () => {
  sim = await SimServer.start();
  oauth = countOAuthAnswers(sim);
  dir = await mkdtemp(join(tmpdir(), 'b24-shards-'));
  ({ portals, configFile } = await makeFleet(sim, dir, PORTALS, SCHEDULE));
  if (haveRedis()) redis = await startRedis({ persist: true });
});

afterAll(async () => {
  for (const shard of allShards) await stopShard(shard, 'SIGKILL');
  await redis?.stop();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

function expireAll(): void {
  for (const { portal } of portals) portal.expireAccessTokens();
}

/** Waits until every portal is up on exactly one shard, each its owner, with a success after `since`. */
async function everyPortalOwned(since: number, timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < timeoutMs) {
    const view = await viewFleet(shards);
    const problems = portals.flatMap(({ name, depth }) => {
      const on = view.upOn.get(name) ?? [];
      const owner = ownerOf(name, shards.length);
      if (on.length !== 1 || on[0] !== owner)
        return [`${name} up on [${on.join(',')}], owner ${owner}`];
      if ((view.lastSuccess.get(name) ?? 0) * 1000 < since) return [`${name} not polled since`];
      if (view.depth.get(name) !== depth)
        return [`${name} depth ${view.depth.get(name)} != ${depth}`];
      return [];
    });
    if (problems.length === 0) return Date.now() - started;
    last = problems.slice(0, 5).join('; ');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not every portal owned after ${timeoutMs} ms: ${last}`);
}

describe('shards sharing one config and one Redis', () => {
  it(
    '3 shards: every portal up on exactly one shard, equal to its truth',
    { timeout: 60_000 },
    async (ctx) => {
      needRedis(ctx);
      const since = Date.now();
      shards = await Promise.all([0, 1, 2].map((i) => startShard(configFile, redis!.url, i, 3)));
      await everyPortalOwned(since, 30_000);
      const view = await viewFleet(shards);
      // no shard exports a series of a portal it does not own
      for (const { name } of portals) expect(view.exportedBy.get(name)).toEqual([ownerOf(name, 3)]);
      expect(view.ownedCounts.reduce((a, b) => a + b, 0)).toBe(PORTALS);
      expect(view.storeUp).toEqual([1, 1, 1]);
      expect(oauth.refused()).toBe(0);
    },
  );

  it(
    'a rolling resize to 4 shards with every access token expired: no refusal, every portal owned within two intervals',
    { timeout: 90_000 },
    async (ctx) => {
      needRedis(ctx);
      expireAll();
      const granted = oauth.granted();
      // the new shard starts first; then each old one is replaced, as a StatefulSet rolls:
      // meanwhile old and new shards both believe they own the portals that move
      const added = await startShard(configFile, redis!.url, 3, 4);
      shards.push(added);
      for (let i = 0; i < 3; i++) {
        const old = shards[i]!;
        const next = await startShard(configFile, redis!.url, i, 4);
        await stopShard(old);
        shards[i] = next;
      }
      const since = Date.now();
      const tookMs = await everyPortalOwned(since, 2 * INTERVAL_S * 1000 + 2_000);
      console.info(
        `resize 3 → 4: every portal owned ${tookMs} ms after the last shard started; ${oauth.granted() - granted} refreshes`,
      );
      expect(tookMs).toBeLessThanOrEqual(2 * INTERVAL_S * 1000);
      expect(oauth.granted() - granted).toBeGreaterThanOrEqual(PORTALS);
      expect(oauth.refused()).toBe(0);
      const moved = portals.filter(({ name }) => ownerOf(name, 3) !== ownerOf(name, 4)).length;
      expect(moved).toBeLessThanOrEqual((1.5 * PORTALS) / 4);
    },
  );

  it(
    'a shard killed with SIGKILL in the middle of refreshes, then restarted',
    { timeout: 60_000 },
    async (ctx) => {
      needRedis(ctx);
      const victim = shards[1]!;
      const refreshed = (): number => linesOf(victim, 'Access token refreshed').length;
      const before = refreshed();
      const victimPortals = portals.filter(({ name }) => ownerOf(name, 4) === 1).length;
      expireAll();
      // the victim's polls (spread over the interval) refresh its portals one after another:
      // kill it once it has refreshed some of them (its own log says so) and not yet all
      const deadline = Date.now() + 3 * INTERVAL_S * 1000;
      while (refreshed() < before + 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      // 20 ms later: not between an OAuth answer and its save in Redis (a window of about a
      // millisecond that no client can close: the rotated pair exists only in the answer)
      await new Promise((resolve) => setTimeout(resolve, 20));
      const refreshedAtKill = refreshed() - before;
      await stopShard(victim, 'SIGKILL');
      expect(victim.process.child.signalCode).toBe('SIGKILL');
      console.info(
        `SIGKILL after ${refreshedAtKill} of the victim's ${victimPortals} portals refreshed`,
      );
      expect(refreshedAtKill).toBeGreaterThan(0);
      const since = Date.now();
      shards[1] = await startShard(configFile, redis!.url, 1, 4);
      await everyPortalOwned(since, 4 * INTERVAL_S * 1000);
      expect(oauth.refused()).toBe(0);
    },
  );

  it(
    'Redis restarted during polling: polls go on, pairs rotated meanwhile are written when it is back',
    { timeout: 90_000 },
    async (ctx) => {
      needRedis(ctx);
      await redis!.kill();
      const down = Date.now();
      expireAll();
      // every shard refreshes on its own and stays up
      await everyPortalOwned(down, 3 * INTERVAL_S * 1000);
      const during = await viewFleet(shards);
      expect(during.storeUp).toEqual([0, 0, 0, 0]);
      await redis!.start();
      await expect
        .poll(async () => (await viewFleet(shards)).storeUp, { timeout: 10_000 })
        .toEqual([1, 1, 1, 1]);
      for (const shard of shards) {
        expect(
          linesOf(shard, 'Token store unreachable; polling goes on with the token pairs in memory'),
        ).toHaveLength(1);
        // one line per outage, not one per portal whose rotated pair waits for Redis
        expect(
          linesOf(
            shard,
            'Token file could not be written; the new token pair is kept in memory only',
          ),
        ).toEqual([]);
      }
      // the pairs in Redis are the live ones: a fresh fleet started from Redis alone (the seeds
      // in the config are long dead) refreshes every portal without a refusal
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (const shard of shards) await stopShard(shard);
      expireAll();
      const since = Date.now();
      shards = await Promise.all([0, 1, 2, 3].map((i) => startShard(configFile, redis!.url, i, 4)));
      await everyPortalOwned(since, 4 * INTERVAL_S * 1000);
      expect(oauth.refused()).toBe(0);
    },
  );
});
