/** OAuth: rotating refresh tokens, access-token expiry, token errors, administrator rights. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET } from '../../src/sim/index.js';
import type { SimPortal } from '../../src/sim/index.js';
import type { Harness, Transport } from './helpers.js';
import { batchOf, rest, send, startSim } from './helpers.js';

let sim: Harness;
let portal: SimPortal;

beforeAll(async () => {
  sim = await startSim();
  portal = sim.server.addPortal('oauth-portal', { rateLimit: null });
});

afterAll(async () => {
  await sim.close();
});

async function refresh(
  refreshToken: string,
  overrides: Record<string, unknown> = {},
  transport: Transport = 'get',
) {
  return send(
    sim.agent,
    sim.server.oauthUrl,
    {
      grant_type: 'refresh_token',
      client_id: DEFAULT_CLIENT_ID,
      client_secret: DEFAULT_CLIENT_SECRET,
      refresh_token: refreshToken,
      ...overrides,
    },
    transport,
  );
}

async function list(token: string, target = portal) {
  return rest(sim.agent, target, 'event.offline.list', {}, { token });
}

describe('refresh', () => {
  it.each<Transport>(['get', 'form'])('rotates the pair (%s)', async (transport) => {
    const pair = portal.authorize('monitor');

    const answer = await refresh(pair.refreshToken, {}, transport);

    const body = answer.body as Record<string, unknown>;
    expect(answer.status).toBe(200);
    expect(Object.keys(body).sort()).toEqual(
      [
        'access_token',
        'client_endpoint',
        'domain',
        'expires',
        'expires_in',
        'member_id',
        'refresh_token',
        'scope',
        'server_endpoint',
        'status',
        'user_id',
      ].sort(),
    );
    expect(body).toMatchObject({
      expires_in: 3600,
      expires: Math.floor(sim.clock.now() / 1000) + 3600,
      client_endpoint: portal.restUrl,
      server_endpoint: `${sim.server.url}/rest/`,
      domain: 'oauth-portal.bitrix24.sim',
      scope: 'crm',
      status: 'L',
      user_id: 1,
    });
    expect(body['member_id']).toMatch(/^[0-9a-f]{32}$/);
    expect(body['access_token']).toMatch(/^[0-9a-f]{64}$/);
    expect(body['refresh_token']).not.toBe(pair.refreshToken);
    expect((await list(String(body['access_token']))).status).toBe(200);
  });

  it('refuses a used refresh token with invalid_grant, and the new one works', async () => {
    const pair = portal.authorize('monitor');
    const first = await refresh(pair.refreshToken);

    const reused = await refresh(pair.refreshToken);
    const next = await refresh(String((first.body as Record<string, unknown>)['refresh_token']));

    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');
    expect(typeof reused.body.error_description).toBe('string');
    expect(next.status).toBe(200);
  });

  it('counts the pairs it grants and the refresh tokens it refuses with invalid_grant', async () => {
    const before = { ...sim.server.oauth.answers };
    const pair = portal.authorize('monitor');
    const first = await refresh(pair.refreshToken);
    await refresh(pair.refreshToken);
    const fresh = String((first.body as Record<string, unknown>)['refresh_token']);
    await refresh(fresh, { client_secret: 'wrong' });

    // the wrong secret is invalid_client: neither a grant nor a refused refresh token
    expect(sim.server.oauth.answers).toEqual({
      granted: before.granted + 1,
      refused: before.refused + 1,
    });
  });

  it.each([
    [{ client_secret: 'wrong' }, 400, 'invalid_client'],
    [{ client_id: 'local.unknown.app' }, 400, 'invalid_client'],
    [{ grant_type: '' }, 400, 'invalid_request'],
    [{ grant_type: 'password' }, 400, 'invalid_request'],
    [{ refresh_token: '' }, 400, 'invalid_request'],
    [{ refresh_token: 'f'.repeat(64) }, 400, 'invalid_grant'],
  ])('%j → %i %s', async (overrides, status, error) => {
    const pair = portal.authorize('monitor');

    const answer = await refresh(pair.refreshToken, overrides);

    expect(answer.status).toBe(status);
    expect(answer.body.error).toBe(error);
  });

  it('refuses the access token of the old pair once refreshed (401 invalid_token)', async () => {
    const pair = portal.authorize('monitor');
    const other = portal.authorize('consumer');

    const before = await list(pair.accessToken);
    const renewed = await refresh(pair.refreshToken);
    const old = await list(pair.accessToken);
    const fresh = await list(String((renewed.body as Record<string, unknown>)['access_token']));
    const otherChain = await list(other.accessToken);

    expect(before.status).toBe(200);
    expect(old.status).toBe(401);
    expect(old.body).toEqual({
      error: 'invalid_token',
      error_description: 'Unable to get application by token',
    });
    expect([fresh.status, otherChain.status]).toEqual([200, 200]);
  });

  it('gives each authorization an independent pair', async () => {
    const monitor = portal.authorize('monitor');
    const consumer = portal.authorize('consumer');

    await refresh(monitor.refreshToken);
    const other = await refresh(consumer.refreshToken);

    expect(other.status).toBe(200);
  });

  it('refuses revoked refresh tokens of one holder only', async () => {
    const own = sim.server.addPortal('revoke', { rateLimit: null });
    const monitor = own.authorize('monitor');
    const consumer = own.authorize('consumer');

    own.revokeRefreshTokens('monitor');

    expect((await refresh(monitor.refreshToken)).body.error).toBe('invalid_grant');
    expect((await refresh(consumer.refreshToken)).status).toBe(200);
  });

  it('expires refresh tokens after 180 days', async () => {
    const pair = portal.authorize('monitor');

    sim.clock.advance(180 * 86_400_000);
    const answer = await refresh(pair.refreshToken);

    expect(answer.body.error).toBe('invalid_grant');
  });
});

describe('access tokens', () => {
  it('expire after accessTokenTtlSec, then answer 401 expired_token', async () => {
    const short = sim.server.addPortal('short-ttl', { rateLimit: null, accessTokenTtlSec: 60 });
    const pair = short.authorize('monitor');

    const fresh = await list(pair.accessToken, short);
    sim.clock.advance(59_999);
    const almost = await list(pair.accessToken, short);
    sim.clock.advance(1);
    const expired = await list(pair.accessToken, short);

    expect([fresh.status, almost.status]).toEqual([200, 200]);
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({
      error: 'expired_token',
      error_description: 'The access token provided has expired.',
    });
  });

  it('expire on demand and come back after a refresh', async () => {
    const pair = portal.authorize('monitor');

    portal.expireAccessTokens();
    const expired = await list(pair.accessToken);
    const renewed = await refresh(pair.refreshToken);
    const again = await list(String((renewed.body as Record<string, unknown>)['access_token']));

    expect(expired.body.error).toBe('expired_token');
    expect(again.status).toBe(200);
  });

  it.each([
    ['no token', undefined, 'NO_AUTH_FOUND'],
    ['a malformed token', 'not a token!', 'NO_AUTH_FOUND'],
    ['an unknown token', 'a'.repeat(64), 'invalid_token'],
  ])('answer 401 for %s', async (_, token, error) => {
    const answer = await rest(
      sim.agent,
      portal,
      'event.offline.list',
      {},
      token === undefined ? {} : { token },
    );

    expect(answer.status).toBe(401);
    expect(answer.body.error).toBe(error);
  });

  it('belong to one portal', async () => {
    const other = sim.server.addPortal('other-portal', { rateLimit: null });
    const pair = other.authorize('monitor');

    const answer = await list(pair.accessToken);

    expect(answer.body.error).toBe('invalid_token');
  });
});

describe('administrator rights', () => {
  it('refuses event.* to a non-administrator pair, directly and in a batch', async () => {
    const user = portal.authorize('user', { admin: false });

    const direct = await list(user.accessToken);
    const feature = await rest(
      sim.agent,
      portal,
      'feature.get',
      { CODE: 'rest_offline_extended' },
      { token: user.accessToken },
    );
    const batched = await rest(
      sim.agent,
      portal,
      'batch',
      { cmd: { a: 'event.get' } },
      { token: user.accessToken },
    );

    expect(direct.status).toBe(403);
    expect(direct.body.error).toBe('ACCESS_DENIED');
    expect(feature.status).toBe(200);
    expect(batchOf(batched).result_error).toEqual({
      a: {
        error: 'ACCESS_DENIED',
        error_description: 'Access denied! Administrator access required',
      },
    });
  });
});
