/**
 * A first authorization: the portal's /oauth/authorize/ page redirects to the app's handler
 * with a code; the OAuth server's authorization_code grant turns it into a pair, once, within
 * 30 s. Each authorization is a chain of its own.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTHORIZATION_CODE_TTL_SEC } from '../../src/sim/index.js';
import type { SimPortal } from '../../src/sim/index.js';
import type { Harness } from './helpers.js';
import { refreshPair, rest, send, startSim } from './helpers.js';

let sim: Harness;
let portal: SimPortal;
const HANDLER = 'https://app.example.com/b24/handler?tenant=7';

beforeAll(async () => {
  sim = await startSim();
  portal = sim.server.addPortal('first-login', { rateLimit: null, handlerUrl: HANDLER });
});

afterAll(async () => {
  await sim.close();
});

async function openAuthorizePage(target: SimPortal, query: Record<string, string>) {
  const response = await request(`${target.authorizeUrl}?${new URLSearchParams(query)}`, {
    dispatcher: sim.agent,
  });
  await response.body.text();
  const location = response.headers['location'];
  return { status: response.statusCode, location: typeof location === 'string' ? location : '' };
}

async function exchange(code: string, overrides: Record<string, string> = {}) {
  const answer = await send(
    sim.agent,
    sim.server.oauthUrl,
    {
      grant_type: 'authorization_code',
      client_id: portal.clientId,
      client_secret: portal.clientSecret,
      code,
      ...overrides,
    },
    'get',
  );
  return { ...answer, pair: answer.body as Record<string, unknown> };
}

async function refresh(refreshToken: unknown) {
  return refreshPair(sim, portal, String(refreshToken));
}

async function eventGet(accessToken: unknown, target = portal) {
  return rest(sim.agent, target, 'event.get', {}, { token: String(accessToken) });
}

describe('the authorize page', () => {
  it('redirects to the handler URL with code, domain, member_id, scope, server_domain and state', async () => {
    const page = await openAuthorizePage(portal, { client_id: portal.clientId, state: 's-1' });

    expect(page.status).toBe(302);
    const location = new URL(page.location);
    expect(`${location.origin}${location.pathname}`).toBe('https://app.example.com/b24/handler');
    const query = Object.fromEntries(location.searchParams);
    expect(Object.keys(query).sort()).toEqual(
      ['code', 'domain', 'member_id', 'scope', 'server_domain', 'state', 'tenant'].sort(),
    );
    expect(query).toMatchObject({
      tenant: '7',
      domain: 'first-login.bitrix24.sim',
      member_id: portal.memberId,
      scope: 'crm',
      server_domain: new URL(sim.server.url).host,
      state: 's-1',
    });
    expect(`http://${query['server_domain']}/oauth/token/`).toBe(sim.server.oauthUrl);

    const answer = await exchange(query['code']!);
    expect(answer.status).toBe(200);
    expect(answer.pair).toMatchObject({
      client_endpoint: portal.restUrl,
      member_id: portal.memberId,
      user_id: 1,
    });
    expect((await eventGet(answer.pair['access_token'])).status).toBe(200);
  });

  it.each([
    ['an unknown client_id', { client_id: 'local.other.app' }],
    ['no client_id', {}],
  ])('answers 400 to %s', async (_, query) => {
    const page = await openAuthorizePage(portal, query);

    expect(page.status).toBe(400);
  });

  it('answers 400 while the app has no handler URL', async () => {
    const bare = sim.server.addPortal('no-handler', { rateLimit: null });

    const page = await openAuthorizePage(bare, { client_id: bare.clientId });

    expect(page.status).toBe(400);
  });

  it("consents as the user the portal's consent setting names", async () => {
    portal.configure({ consent: { admin: false, userId: 9, holder: 'intern' } });
    const page = await openAuthorizePage(portal, { client_id: portal.clientId });
    portal.configure({ consent: {} });

    const answer = await exchange(new URL(page.location).searchParams.get('code')!);
    const call = await eventGet(answer.pair['access_token']);

    expect(answer.pair['user_id']).toBe(9);
    expect(call.status).toBe(403);
    expect(call.body.error).toBe('ACCESS_DENIED');
    expect(portal.journal.list({ holder: 'intern' }).map((entry) => entry.status)).toEqual([403]);
  });
});

describe('the authorization_code grant', () => {
  it('serves a code once: the second exchange is invalid_grant', async () => {
    const { code } = portal.issueAuthorizationCode();

    const first = await exchange(code);
    const second = await exchange(code);

    expect(first.status).toBe(200);
    expect(second.status).toBe(400);
    expect(second.body.error).toBe('invalid_grant');
  });

  it('lets a code live 30 seconds', async () => {
    const young = portal.issueAuthorizationCode().code;
    const old = portal.issueAuthorizationCode().code;

    sim.clock.advance(AUTHORIZATION_CODE_TTL_SEC * 1000 - 1);
    const inTime = await exchange(young);
    sim.clock.advance(1);
    const late = await exchange(old);

    expect(AUTHORIZATION_CODE_TTL_SEC).toBe(30);
    expect(inTime.status).toBe(200);
    expect(late.status).toBe(400);
    expect(late.body.error).toBe('invalid_grant');
  });

  it.each([
    [{ client_secret: 'wrong' }, 'invalid_client'],
    [{ code: 'f'.repeat(64) }, 'invalid_grant'],
    [{ code: '' }, 'invalid_request'],
  ])('refuses %j with %s', async (overrides, error) => {
    const { code } = portal.issueAuthorizationCode();

    const answer = await exchange(code, overrides);

    expect(answer.status).toBe(400);
    expect(answer.body.error).toBe(error);
  });

  it('starts an independent chain: refreshing one leaves the others working', async () => {
    const existing = portal.authorize('application');
    const a = await exchange(portal.issueAuthorizationCode().code);
    const b = await exchange(portal.issueAuthorizationCode().code);

    const aRefreshed = await refresh(a.pair['refresh_token']);

    expect(a.pair['refresh_token']).not.toBe(b.pair['refresh_token']);
    expect(aRefreshed.status).toBe(200);
    expect((await eventGet(a.pair['access_token'])).body.error).toBe('invalid_token');
    expect((await eventGet(b.pair['access_token'])).status).toBe(200);
    expect((await eventGet(existing.accessToken)).status).toBe(200);
    expect((await refresh(b.pair['refresh_token'])).status).toBe(200);
    expect((await refresh(existing.refreshToken)).status).toBe(200);
  });
});
