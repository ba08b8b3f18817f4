/** Faults switched on at run time: latency, errors, resets, hangs, broken bodies, token trouble. */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildQuery } from '../../src/php/buildQuery.js';
import {
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  FORCED_ERRORS,
  WRONG_TYPE_FAULTS,
} from '../../src/sim/index.js';
import type { SimPortal, WrongTypeFault } from '../../src/sim/index.js';
import type { Harness } from './helpers.js';
import { batchOf, monitoredPortal, rest, startSim } from './helpers.js';

let sim: Harness;
let portal: SimPortal;
let token: string;

beforeAll(async () => {
  sim = await startSim();
  ({ portal, token } = monitoredPortal(sim));
  portal.fill({ counts: { ONCRMLEADADD: { queued: 3, error: 1 } } });
});

afterAll(async () => {
  await sim.close();
});

async function list(method = 'event.offline.list') {
  return rest(sim.agent, portal, method, {}, { token });
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no failure';
  } catch (error) {
    const { code, cause, name } = error as {
      code?: unknown;
      cause?: { code?: unknown };
      name?: string;
    };
    if (typeof code === 'string') return code;
    if (typeof cause?.code === 'string') return cause.code;
    return name ?? String(error);
  }
}

describe('latency', () => {
  it.each([
    [120, 110, 1000],
    [[40, 60] as const, 35, 1000],
  ])('delays answers by %j ms', async (latencyMs, atLeast, atMost) => {
    portal.faults.set({ latencyMs });

    const started = performance.now();
    const answer = await list();
    const elapsed = performance.now() - started;
    portal.faults.reset();

    expect(answer.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(atLeast);
    expect(elapsed).toBeLessThan(atMost);
  });
});

describe('random failures', () => {
  it('answers 500 INTERNAL_SERVER_ERROR at errorRate 1', async () => {
    portal.faults.set({ errorRate: 1 });

    const answer = await list();
    portal.faults.reset();

    expect(answer.status).toBe(500);
    expect(answer.body.error).toBe('INTERNAL_SERVER_ERROR');
  });

  it('draws the same failures from the same seed', async () => {
    const run = async (): Promise<number[]> => {
      const own = await startSim({ seed: 99 });
      const env = monitoredPortal(own, 'seeded');
      env.portal.faults.set({ errorRate: 0.4 });
      const out: number[] = [];
      for (let i = 0; i < 20; i++)
        out.push((await rest(own.agent, env.portal, 'event.get', {}, { token: env.token })).status);
      await own.close();
      return out;
    };

    const first = await run();
    const second = await run();

    expect(first).toEqual(second);
    expect(first).toContain(500);
    expect(first).toContain(200);
  });

  it('hits only the listed methods', async () => {
    portal.faults.set({ errorRate: 1, methods: ['event.get'] });

    const hit = await list('event.get');
    const spared = await list();
    portal.faults.reset();

    expect([hit.status, spared.status]).toEqual([500, 200]);
  });

  it('resets the connection', async () => {
    portal.faults.set({ resetRate: 1 });

    const code = await failure(list());
    portal.faults.reset();

    expect(code).toBe('ECONNRESET');
  });

  it('hangs, and close() still ends promptly', async () => {
    const own = await startSim();
    const env = monitoredPortal(own, 'hanging');
    env.portal.faults.set({ hangRate: 1 });

    const pending = request(`${env.portal.restUrl}event.get`, { dispatcher: own.agent });
    const outcome = await Promise.race([
      pending.then(
        () => 'answered',
        () => 'failed',
      ),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 150)),
    ]);
    const started = performance.now();
    await own.server.close();
    const closeMs = performance.now() - started;
    const code = await failure(pending);
    await own.agent.destroy();

    expect(outcome).toBe('still waiting');
    expect(closeMs).toBeLessThan(1000);
    expect(code).not.toBe('no failure');
  });
});

describe('broken answers', () => {
  it('cuts the JSON in the middle', async () => {
    portal.faults.set({ malformedJsonRate: 1 });

    const answer = await list();
    portal.faults.reset();

    expect(answer.status).toBe(200);
    expect(() => JSON.parse(answer.text)).toThrow();
    expect(answer.text.startsWith('{"result":[')).toBe(true);
  });

  it('sends a huge valid body', async () => {
    portal.faults.set({ hugeBodyRate: 1 });

    const answer = await list();
    portal.faults.reset();

    expect(answer.status).toBe(200);
    expect(answer.text.length).toBeGreaterThan(20 * 1024 * 1024 - 100_000);
    expect(Array.isArray(answer.body.result)).toBe(true);
  });

  it.each<[WrongTypeFault, (body: Record<string, unknown>) => unknown, unknown]>([
    ['totalObject', (body) => body['total'], { value: 4 }],
    ['totalString', (body) => body['total'], '4'],
    ['resultObject', (body) => Array.isArray(body['result']), false],
    ['rowIdNull', (body) => (body['result'] as { ID: unknown }[])[0]?.ID, null],
    ['errorBoolean', (body) => (body['result'] as { ERROR: unknown }[])[0]?.ERROR, false],
    [
      'timestampGarbage',
      (body) => (body['result'] as { TIMESTAMP_X: unknown }[])[0]?.TIMESTAMP_X,
      'yesterday-ish',
    ],
  ])('gives fields of the wrong type: %s', async (fault, read, expected) => {
    portal.faults.set({ wrongTypes: [fault] });

    const answer = await list();
    portal.faults.reset();

    expect(read(answer.body as Record<string, unknown>)).toEqual(expected);
  });

  it('covers every wrong-type fault in the table above', () => {
    expect(WRONG_TYPE_FAULTS).toHaveLength(6);
  });

  it('corrupts event.offline.list inside a batch too', async () => {
    portal.faults.set({ wrongTypes: ['totalObject'] });

    const answer = await rest(
      sim.agent,
      portal,
      'batch',
      { cmd: { a: 'event.offline.list' } },
      { token },
    );
    portal.faults.reset();

    expect(batchOf(answer).result_total).toEqual({ a: { value: 4 } });
  });
});

describe('forced errors', () => {
  it.each([
    [{ status: 500, code: 'PORTAL_DELETED', description: 'Portal was deleted' }, 'event.get', 500],
    [
      {
        status: 403,
        code: 'WRONG_AUTH_TYPE',
        description: 'Current authorization type is denied for this method',
      },
      'event.get',
      403,
    ],
    [
      {
        status: 403,
        code: 'ACCESS_DENIED',
        description: 'REST is available only on commercial plans.',
        method: 'event.get',
      },
      'event.get',
      403,
    ],
    [
      { status: 403, code: 'ACCESS_DENIED', description: 'only event.get', method: 'event.get' },
      'event.offline.list',
      200,
    ],
  ])('%j on %s → %i', async (forcedError, method, status) => {
    portal.faults.set({ forcedError });

    const answer = await list(method);
    portal.faults.reset();

    expect(answer.status).toBe(status);
    if (status !== 200)
      expect(answer.body).toEqual({
        error: forcedError.code,
        error_description: forcedError.description,
      });
  });

  it.each(Object.entries(FORCED_ERRORS).filter(([name]) => name !== 'paymentRequired'))(
    'refuses with the preset %s, the whole batch too',
    async (_, forcedError) => {
      portal.faults.set({ forcedError });

      const direct = await list('event.offline.list');
      const batch = await rest(sim.agent, portal, 'batch', { cmd: { a: 'event.get' } }, { token });
      portal.faults.reset();
      const back = await list('event.offline.list');

      const body = { error: forcedError.code, error_description: forcedError.description };
      expect([direct.status, batch.status]).toEqual([forcedError.status, forcedError.status]);
      expect(direct.body).toEqual(body);
      expect(batch.body).toEqual(body);
      expect(back.status).toBe(200);
    },
  );

  it('has a preset for each refusal the docs list', () => {
    const presets = Object.values(FORCED_ERRORS).map(({ status, code }) => `${status} ${code}`);

    expect(presets.sort()).toEqual(
      [
        '401 ACCESS_DENIED',
        '401 CONNECTION_ERROR',
        '401 APPLICATION_NOT_FOUND',
        '401 authorization_error',
        '401 user_access_error',
        '403 ACCESS_DENIED',
        '403 WRONG_AUTH_TYPE',
        '403 WRONG_LICENSE',
        '402 PAYMENT_REQUIRED',
      ].sort(),
    );
  });

  it('forces a method error inside a batch', async () => {
    portal.faults.set({
      forcedError: {
        status: 403,
        code: 'ACCESS_DENIED',
        description: 'no',
        method: 'event.offline.list',
      },
    });

    const answer = await rest(
      sim.agent,
      portal,
      'batch',
      { cmd: { a: 'event.offline.list', b: 'event.get' } },
      { token },
    );
    portal.faults.reset();

    expect(batchOf(answer).result_error).toEqual({
      a: { error: 'ACCESS_DENIED', error_description: 'no' },
    });
  });
});

describe('tokens', () => {
  it('expires access tokens after N more calls (mid-scan)', async () => {
    const env = monitoredPortal(sim, 'expire-after');
    env.portal.faults.set({ expireTokensAfterCalls: 2 });

    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await rest(sim.agent, env.portal, 'event.get', {}, { token: env.token })).body.error ??
          'ok',
      );

    expect(statuses).toEqual(['ok', 'ok', 'expired_token', 'expired_token']);
  });

  async function refresh(refreshToken: string) {
    const query = buildQuery({
      grant_type: 'refresh_token',
      client_id: DEFAULT_CLIENT_ID,
      client_secret: DEFAULT_CLIENT_SECRET,
      refresh_token: refreshToken,
    });
    const response = await request(`${sim.server.oauthUrl}?${query}`, {
      dispatcher: sim.agent,
      signal: AbortSignal.timeout(150),
    });
    return { status: response.statusCode, text: await response.body.text() };
  }

  it('answers PAYMENT_REQUIRED from the OAuth server without using up the refresh token', async () => {
    const env = monitoredPortal(sim, 'payment-required');
    const pair = env.portal.authorize('monitor');
    env.portal.faults.set({ tokenEndpointError: FORCED_ERRORS.paymentRequired });

    const refused = await refresh(pair.refreshToken);
    const stillWorks = await rest(
      sim.agent,
      env.portal,
      'event.get',
      {},
      { token: pair.accessToken },
    );
    env.portal.faults.set({ tokenEndpointError: null });
    const paid = await refresh(pair.refreshToken);

    expect(refused.status).toBe(402);
    expect(JSON.parse(refused.text)).toEqual({
      error: 'PAYMENT_REQUIRED',
      error_description: 'Payment required: the application subscription has expired',
    });
    expect(stillWorks.status).toBe(200);
    expect(paid.status).toBe(200);
  });

  it.each([
    ['error', '500'],
    ['reset', 'ECONNRESET'],
    ['hang', 'TimeoutError'],
  ] as const)('takes the token endpoint down: %s', async (mode, expected) => {
    const env = monitoredPortal(sim, `token-down-${mode}`);
    const pair = env.portal.authorize('monitor');
    env.portal.faults.set({ tokenEndpoint: mode });

    const outcome =
      mode === 'error'
        ? String((await refresh(pair.refreshToken)).status)
        : await failure(refresh(pair.refreshToken));
    env.portal.faults.set({ tokenEndpoint: 'up' });
    const back = await refresh(pair.refreshToken);

    expect(outcome).toBe(expected);
    expect(back.status).toBe(200);
  });
});
