/**
 * The parts of `auth` that read the code: what an operator may paste, the consent page's
 * address, and the local listener that receives the browser's redirect (over real HTTP).
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { authorizeUrl, parseAuthorizationInput } from '../../src/b24/authorizationCode.js';
import {
  ListenTimeoutError,
  listenForRedirect,
  type RedirectListener,
} from '../../src/cli/authInput.js';

const CODE = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

describe('parseAuthorizationInput', () => {
  it.each([
    ['a bare code', CODE, { kind: 'code', code: CODE }],
    ['a bare code with blanks around it', `  ${CODE}\t`, { kind: 'code', code: CODE }],
    [
      'the whole redirect address',
      `https://app.example.com/handler/?code=${CODE}&state=s1&domain=acme.bitrix24.com&member_id=m&scope=crm&server_domain=oauth.bitrix.info`,
      { kind: 'code', code: CODE, state: 's1', domain: 'acme.bitrix24.com' },
    ],
    [
      'the address in quotes',
      `"http://127.0.0.1:8080/?code=${CODE}"`,
      { kind: 'code', code: CODE, state: undefined },
    ],
    ['its query string', `?code=${CODE}&domain=x`, { kind: 'code', code: CODE, domain: 'x' }],
    [
      'a refusal',
      'https://app.example.com/?error=access_denied&error_description=The+user+denied+access',
      { kind: 'refused', error: 'access_denied', description: 'The user denied access' },
    ],
    [
      'an address without a code',
      'https://acme.bitrix24.com/oauth/authorize/?client_id=x',
      { kind: 'invalid', why: 'the address has no code parameter' },
    ],
    ['words', 'where is the code?', { kind: 'invalid' }],
    ['too short to be a code', 'abc', { kind: 'invalid' }],
  ])('%s', (_what, text, expected) => {
    expect(parseAuthorizationInput(text)).toMatchObject(expected);
  });
});

describe('authorizeUrl', () => {
  it.each([
    [
      'https://acme.bitrix24.com/rest/',
      'https://acme.bitrix24.com/oauth/authorize/?client_id=local.1.2&state=s',
    ],
    [
      'http://127.0.0.1:8080/acme/rest/',
      'http://127.0.0.1:8080/acme/oauth/authorize/?client_id=local.1.2&state=s',
    ],
    [
      'https://box.example.com/',
      'https://box.example.com/oauth/authorize/?client_id=local.1.2&state=s',
    ],
  ])('%s → %s', (restUrl, expected) => {
    expect(authorizeUrl(restUrl, 'local.1.2', 's')).toBe(expected);
  });
});

describe('listenForRedirect', () => {
  let listener: RedirectListener | undefined;

  afterEach(async () => {
    await listener?.close();
    listener = undefined;
  });

  async function get(
    path: string,
  ): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
    if (listener === undefined) throw new Error('not listening');
    const response = await request(new URL(path, listener.url));
    return {
      status: response.statusCode,
      body: await response.body.text(),
      headers: response.headers,
    };
  }

  it('answers the redirect with a page to close and hands over the code; other requests wait', async () => {
    listener = await listenForRedirect('127.0.0.1', 0, 10_000);

    const favicon = await get('/favicon.ico');
    const redirect = await get(`/?code=${CODE}&state=s2&domain=acme.bitrix24.com`);
    const received = await listener.received;
    const late = await get(`/?code=${CODE}`);

    expect(favicon.status).toBe(404);
    expect(redirect.status).toBe(200);
    expect(redirect.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(redirect.body).toContain('You can close this tab');
    expect(redirect.body).not.toContain(CODE);
    expect(received).toEqual({
      kind: 'code',
      code: CODE,
      state: 's2',
      domain: 'acme.bitrix24.com',
    });
    expect(late.status).toBe(410);
  });

  it('hands over a refusal, its text escaped on the page', async () => {
    listener = await listenForRedirect('127.0.0.1', 0, 10_000);

    const page = await get('/?error=%3Cscript%3E&error_description=no');

    expect(page.body).toContain('&lt;script&gt;');
    expect(page.body).not.toContain('<script>');
    await expect(listener.received).resolves.toEqual({
      kind: 'refused',
      error: '<script>',
      description: 'no',
    });
  });

  it('gives up after its timeout', async () => {
    listener = await listenForRedirect('127.0.0.1', 0, 50);

    await expect(listener.received).rejects.toBeInstanceOf(ListenTimeoutError);
  });

  it('refuses an address in use', async () => {
    listener = await listenForRedirect('127.0.0.1', 0, 10_000);
    const port = Number(new URL(listener.url).port);

    await expect(listenForRedirect('127.0.0.1', port, 10_000)).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});
