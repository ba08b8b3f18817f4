/**
 * The Redis token store with a real redis-server and the simulated portal's real OAuth server:
 * several holders of one pair, the seed, Redis going away and coming back, the password.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TokenManager } from '../../src/b24/tokens.js';
import { SimServer, type SimPortal } from '../../src/sim/index.js';
import { RedisConnection } from '../../src/tokens/redisConnection.js';
import { keysOf } from '../../src/tokens/redisProtocol.js';
import { RedisTokenStore } from '../../src/tokens/redisTokenStore.js';
import { captureLogger } from '../helpers/logs.js';
import {
  countOAuthAnswers,
  haveRedis,
  needRedis,
  startRedis,
  type TestRedis,
} from '../helpers/redis.js';

let sim: SimServer;
let redis: TestRedis | undefined;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  sim = await SimServer.start();
  if (haveRedis()) redis = await startRedis({ persist: true });
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

afterAll(async () => {
  await redis?.stop();
  await sim.close();
});

let portalCount = 0;
function newPortal(): { portal: SimPortal; seed: { refreshToken: string; accessToken: string } } {
  const portal = sim.addPortal(`p${portalCount++}`, { rateLimit: null });
  return { portal, seed: portal.authorize('monitor') };
}

function holder(
  url: string,
  portal: SimPortal,
  seed: { refreshToken?: string; accessToken?: string },
): { tokens: TokenManager; connection: RedisConnection; refreshes: () => number } {
  let refreshes = 0;
  const connection = new RedisConnection(url);
  closers.push(() => connection.close());
  const store = new RedisTokenStore(connection, portal.id, { holder: 'test', leaseMs: 5_000 });
  const tokens = new TokenManager({
    portal: portal.id,
    store,
    seed,
    oauth: { oauthUrl: sim.oauthUrl, clientId: portal.clientId, clientSecret: portal.clientSecret },
    observer: { refresh: (ok) => void (ok && (refreshes += 1)) },
    logger: captureLogger().logger,
  });
  return { tokens, connection, refreshes: () => refreshes };
}

/** Whether the portal accepts this access token now. */
function accepted(portal: SimPortal, token: string): boolean {
  return sim.oauth.authenticate(portal.id, token).ok;
}

describe('the Redis token store', () => {
  it('lets two holders of one pair refresh 60 times at once without ever reusing a refresh token', async (ctx) => {
    needRedis(ctx);
    const url = redis!.url;
    const oauth = countOAuthAnswers(sim);
    const { portal, seed } = newPortal();
    const a = holder(url, portal, seed);
    const b = holder(url, portal, seed);
    for (let round = 0; round < 60; round++) {
      portal.expireAccessTokens();
      const [tokenA, tokenB] = await Promise.all([a.tokens.accessToken(), b.tokens.accessToken()]);
      // both are refused by the portal, and both refresh at the same moment
      const [nextA, nextB] = await Promise.all([
        a.tokens.refresh(tokenA),
        b.tokens.refresh(tokenB),
      ]);
      expect(accepted(portal, nextA), `round ${round}`).toBe(true);
      expect(accepted(portal, nextB), `round ${round}`).toBe(true);
    }
    expect(oauth.refused()).toBe(0);
    // one exchange per round: the second holder takes the pair the first stored
    expect(a.refreshes() + b.refreshes()).toBe(60);
    const stored = await redis!.client.hgetall(keysOf(portal.id).pair);
    expect(Number(stored['version'])).toBe(60);
    expect(stored['savedBy']).toBe('test');
  });

  it('uses the configured refresh token only as the seed while the store holds no pair', async (ctx) => {
    needRedis(ctx);
    const url = redis!.url;
    const oauth = countOAuthAnswers(sim);
    const { portal, seed } = newPortal();
    const first = holder(url, portal, { refreshToken: seed.refreshToken });
    const access = await first.tokens.accessToken(); // no access token: refreshes, stores the pair
    expect(first.refreshes()).toBe(1);
    // a second process started with the same (now dead) seed takes the stored pair instead
    const second = holder(url, portal, { refreshToken: seed.refreshToken });
    expect(await second.tokens.accessToken()).toBe(access);
    portal.expireAccessTokens();
    expect(accepted(portal, await second.tokens.refresh(access))).toBe(true);
    expect(oauth.refused()).toBe(0);
  });

  it('refreshes on its own while Redis is away, and writes the pair once Redis is back', async (ctx) => {
    needRedis(ctx);
    const url = redis!.url;
    const oauth = countOAuthAnswers(sim);
    const { portal, seed } = newPortal();
    const a = holder(url, portal, seed);
    await a.tokens.accessToken();
    await redis!.kill();
    portal.expireAccessTokens();
    const next = await a.tokens.refresh(seed.accessToken);
    expect(accepted(portal, next)).toBe(true);
    expect(a.tokens.persistError?.message).toMatch(
      /cannot be written .*writes it once Redis answers again/,
    );
    await redis!.start();
    // written as soon as the connection is back, without waiting for another refresh
    const key = keysOf(portal.id).pair;
    await expect
      .poll(async () => await redis!.client.hget(key, 'accessToken').catch(() => null), {
        timeout: 5_000,
      })
      .toBe(next);
    // and a second holder now takes that pair rather than the dead seed
    const b = holder(url, portal, seed);
    expect(await b.tokens.accessToken()).toBe(next);
    expect(oauth.refused()).toBe(0);
  });
});

describe('a Redis with a password', () => {
  const password = 'redis-Pa55word-Xq81';
  let secured: TestRedis | undefined;
  afterAll(async () => secured?.stop());

  it('works with the password in the URL and never shows it, right or wrong', async (ctx) => {
    needRedis(ctx);
    secured = await startRedis({ password });
    const { portal, seed } = newPortal();
    const good = holder(secured.url, portal, seed);
    await good.tokens.accessToken();
    expect(await secured.client.exists(keysOf(portal.id).pair)).toBe(0);
    portal.expireAccessTokens();
    await good.tokens.refresh(seed.accessToken);
    expect(await secured.client.exists(keysOf(portal.id).pair)).toBe(1);

    const wrong = `redis://:wrong-${password}@127.0.0.1:${secured.port}/0`;
    const connection = new RedisConnection(wrong);
    closers.push(() => connection.close());
    const store = new RedisTokenStore(connection, portal.id, { holder: 'test' });
    const error = await store.load().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const text = `${String(error)} ${JSON.stringify(error)} ${store.path}`;
    expect(text).toMatch(
      /Token store redis:\/\/127\.0\.0\.1:\d+\/0 .*cannot be read \(WRONGPASS\)/,
    );
    expect(text).not.toContain(password);
  });
});
