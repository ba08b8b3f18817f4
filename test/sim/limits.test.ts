/** The request-rate bucket, operating time per method, and the overload switch. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from './helpers.js';
import { batchOf, rest, send, startSim } from './helpers.js';

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

  it('can be disabled', async () => {
    const { call } = portalWith('no-bucket', { rateLimit: null });

    const all = await statuses(call, 80);

    expect(all.every((status) => status === 200)).toBe(true);
  });
});

describe('operating time', () => {
  it('answers 429 OPERATION_TIME_LIMIT once a method used its seconds, until operating_reset_at', async () => {
    const { call } = portalWith('operating', {
      rateLimit: null,
      operatingLimit: { extraCostSec: 100 },
    });
    const startSec = sim.clock.now() / 1000;

    const allowed = [];
    for (let i = 0; i < 5; i++) allowed.push(await call());
    const blocked = await call();
    const otherMethod = await call('event.get');
    sim.clock.advance(600_000);
    const afterReset = await call();

    expect(allowed.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    expect(allowed.map((answer) => Math.floor(Number(answer.body.time?.['operating'])))).toEqual([
      100, 200, 300, 400, 500,
    ]);
    expect(allowed[0]?.body.time?.['operating_reset_at']).toBe(Math.floor(startSec) + 600);
    expect(blocked.status).toBe(429);
    expect(blocked.body).toEqual({
      error: 'OPERATION_TIME_LIMIT',
      error_description: 'Method event.offline.list is blocked due to operation time limit.',
    });
    expect(otherMethod.status).toBe(200);
    expect(afterReset.status).toBe(200);
    expect(Math.floor(Number(afterReset.body.time?.['operating']))).toBe(100);
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
    const refresh = await send(
      sim.agent,
      sim.server.oauthUrl,
      {
        grant_type: 'refresh_token',
        client_id: portal.clientId,
        client_secret: portal.clientSecret,
        refresh_token: pair.refreshToken,
      },
      'get',
    );
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
