/** The request-rate bucket, operating time per method, and the overload switch. */
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './helpers.js';
import { TIME_KEYS, batchOf, refreshPair, rest, startSim } from './helpers.js';

let sim: Harness;

beforeAll(async () => {
  sim = await startSim();
});

afterAll(async () => {
  await sim.close();
});

function portalWith(id: string, options: Parameters<Harness['server']['addPortal']>[1]) {
  const portal = sim.server.addPortal(id, options);
  const token = portal.authorize('monitor').accessToken;
  const call = (method = 'event.offline.list', params: Record<string, unknown> = {}) =>
    rest(sim.agent, portal, method, params, { token });
  return { portal, call };
}

async function statuses(call: () => Promise<{ status: number }>, times: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) out.push((await call()).status);
  return out;
}

describe('request-rate bucket', () => {
  it('answers 503 QUERY_LIMIT_EXCEEDED after a burst of 50, then drains 2 per second', async () => {
    const { call } = portalWith('bucket', {});

    const burst = await statuses(call, 50);
    const over = await call();
    sim.clock.advance(500);
    const afterHalfSecond = await statuses(call, 2);
    sim.clock.advance(10_000);
    const afterTenSeconds = await statuses(call, 21);

    expect(burst.every((status) => status === 200)).toBe(true);
    expect(over.status).toBe(503);
    expect(over.body).toEqual({
      error: 'QUERY_LIMIT_EXCEEDED',
      error_description: 'Too many requests',
    });
    expect(afterHalfSecond).toEqual([200, 503]);
    expect(afterTenSeconds.filter((status) => status === 200)).toHaveLength(20);
  });

  it('counts a batch of 50 commands as one request', async () => {
    const { call } = portalWith('bucket-batch', { rateLimit: { capacity: 3, drainPerSecond: 1 } });
    const cmd = Array.from({ length: 50 }, () => 'event.offline.list?start=-1');

    const first = await call('batch', { cmd });
    const then = await statuses(() => call(), 3);

    expect(first.status).toBe(200);
    expect(then).toEqual([200, 200, 503]);
  });

  it('keeps one bucket per source address (and per portal)', async () => {
    const { portal, call } = portalWith('bucket-per-address', {
      rateLimit: { capacity: 3, drainPerSecond: 0.001 },
    });
    const other = portalWith('bucket-other-portal', {
      rateLimit: { capacity: 3, drainPerSecond: 0.001 },
    });
    const token = portal.authorize('consumer').accessToken;
    // 127.0.0.0/8 is all loopback on Linux: a client bound to 127.0.0.2 is another address
    const fromElsewhere = new Agent({
      localAddress: '127.0.0.2',
      keepAliveTimeout: 10,
      keepAliveMaxTimeout: 10,
    });
    const callElsewhere = () => rest(fromElsewhere, portal, 'event.offline.list', {}, { token });

    try {
      const here = await statuses(() => call(), 4);
      const elsewhere = await statuses(callElsewhere, 4);
      const otherPortal = await statuses(() => other.call(), 4);

      expect(here).toEqual([200, 200, 200, 503]);
      expect(elsewhere).toEqual([200, 200, 200, 503]);
      expect(otherPortal).toEqual([200, 200, 200, 503]);
      const consumerStatuses = portal.journal
        .list({ holder: 'consumer' })
        .map((entry) => entry.status);
      expect(consumerStatuses).toEqual([200, 200, 200, 503]);
    } finally {
      await fromElsewhere.destroy();
    }
  });

  it('can be disabled', async () => {
    const { call } = portalWith('no-bucket', { rateLimit: null });

    const all = await statuses(call, 80);

    expect(all.every((status) => status === 200)).toBe(true);
  });
});

describe('operating time', () => {
  /** Moves the clock to the start of the next minute; returns that minute's index. */
  function alignToMinute(): number {
    const minute = Math.ceil(sim.clock.now() / 60_000);
    sim.clock.set(minute * 60_000);
    return minute;
  }

  it('counts ten one-minute baskets; 429 without time while they hold 480 s; a basket ages out after ten minutes', async () => {
    const { call } = portalWith('operating', {
      rateLimit: null,
      operatingLimit: { extraCostSec: 100 },
    });
    const m0 = alignToMinute();

    const allowed = [await call(), await call()];
    sim.clock.advance(60_000);
    allowed.push(await call(), await call());
    sim.clock.advance(60_000);
    allowed.push(await call());
    const blocked = await call();
    const otherMethod = await call('event.get');
    sim.clock.set((m0 + 10) * 60_000 - 1);
    const lastMoment = await call();
    sim.clock.set((m0 + 10) * 60_000);
    const firstBasketGone = await call();

    expect(allowed.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    expect(allowed.map((answer) => Math.floor(Number(answer.body.time?.['operating'])))).toEqual([
      100, 200, 300, 400, 500,
    ]);
    expect(allowed.map((answer) => answer.body.time?.['operating_reset_at'])).toEqual([
      (m0 + 10) * 60,
      (m0 + 10) * 60,
      (m0 + 11) * 60,
      (m0 + 11) * 60,
      (m0 + 12) * 60,
    ]);
    expect(blocked.status).toBe(429);
    expect(blocked.body).toEqual({
      error: 'OPERATION_TIME_LIMIT',
      error_description: 'Method event.offline.list is blocked due to operation time limit.',
    });
    expect(otherMethod.status).toBe(200);
    expect(lastMoment.status).toBe(429);
    // minutes m0+1 and m0+2 are left (300 s): the call passes and adds its 100 s
    expect(firstBasketGone.status).toBe(200);
    expect(Math.floor(Number(firstBasketGone.body.time?.['operating']))).toBe(400);
  });

  it('gives operating figures only while the limiter is active', async () => {
    const { call } = portalWith('operating-active', {
      rateLimit: null,
      operatingLimit: { extraCostSec: 30, activeFromSec: 50 },
    });
    const off = portalWith('operating-off', { rateLimit: null, operatingLimit: null });
    alignToMinute();

    const below = await call();
    const above = await call();
    const disabled = await off.call();
    sim.clock.advance(600_000);
    const agedOut = await call();

    const keys = (answer: { body: { time?: object } }) => Object.keys(answer.body.time ?? {});
    expect(keys(below)).toEqual([...TIME_KEYS]);
    expect(keys(above)).toEqual([...keys(below), 'operating', 'operating_reset_at']);
    expect(Math.floor(Number(above.body.time?.['operating']))).toBe(60);
    expect(keys(disabled)).toEqual(keys(below));
    expect(keys(agedOut)).toEqual(keys(below));
  });

  it('models time.processing: per call and per examined row; a batch takes the sum', async () => {
    const { portal, call } = portalWith('operating-cost', {
      rateLimit: null,
      operatingLimit: { extraCostSec: 0.5, rowCostSec: 0.001 },
    });
    portal.fill({ counts: { ONCRMLEADADD: { queued: 2000 } } });
    alignToMinute();

    const single = await call();
    const feature = await call('feature.get', { CODE: 'x' });
    const batch = await call('batch', {
      cmd: { a: 'event.offline.list', b: 'event.offline.list' },
    });

    const processing = (time: unknown) => Number((time as Record<string, unknown>)['processing']);
    const commandTimes = batchOf(batch).result_time as Record<string, Record<string, unknown>>;
    expect(processing(single.body.time)).toBeGreaterThanOrEqual(2.5);
    expect(processing(single.body.time)).toBeLessThan(3);
    expect(processing(feature.body.time)).toBeGreaterThanOrEqual(0.5);
    expect(processing(feature.body.time)).toBeLessThan(1);
    expect(processing(commandTimes['a'])).toBeGreaterThanOrEqual(2.5);
    expect(processing(batch.body.time)).toBeCloseTo(
      processing(commandTimes['a']) + processing(commandTimes['b']),
      6,
    );
    expect(Math.floor(Number(commandTimes['b']?.['operating']))).toBe(7); // 3 calls × 2.5 s
  });

  it('counts each batch command and refuses blocked ones per command', async () => {
    const { call } = portalWith('operating-batch', {
      rateLimit: null,
      operatingLimit: { limitSec: 10, extraCostSec: 4 },
    });

    const answer = await call('batch', {
      cmd: [
        'event.offline.list',
        'event.offline.list',
        'event.offline.list',
        'event.offline.list',
        'event.get',
      ],
    });

    const result = batchOf(answer);
    expect(Object.keys(result.result as object)).toEqual(['0', '1', '2', '4']);
    expect(result.result_error).toEqual({
      3: {
        error: 'OPERATION_TIME_LIMIT',
        error_description: 'Method event.offline.list is blocked due to operation time limit.',
      },
    });
  });
});

describe('overload', () => {
  it('answers 503 OVERLOAD_LIMIT to everything while on; OAuth keeps working', async () => {
    const { portal, call } = portalWith('overload', { rateLimit: null });
    const pair = portal.authorize('monitor');

    portal.configure({ overload: true });
    const list = await call();
    const feature = await call('feature.get', { CODE: 'rest_offline_extended' });
    const refresh = await refreshPair(sim, portal, pair.refreshToken);
    portal.configure({ overload: false });
    const back = await call();

    expect([list.status, feature.status, refresh.status]).toEqual([503, 503, 200]);
    expect(list.body).toEqual({
      error: 'OVERLOAD_LIMIT',
      error_description: 'REST API is blocked due to overload.',
    });
    expect(back.status).toBe(200);
  });
});
