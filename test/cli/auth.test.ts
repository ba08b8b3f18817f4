/**
 * `b24-offline-monitor auth` as an operator runs it, against the simulated portal's consent
 * page (`/oauth/authorize/`) and `authorization_code` grant over real HTTP: the code pasted on
 * standard input (alone or as the whole redirect address), received on `--listen`, or given
 * with `--code`; an expired and a reused code; the token file; exit codes; no secret printed.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FORCED_ERRORS, SimServer, type SimPortal } from '../../src/sim/index.js';
import { startAuth } from '../helpers/authInProcess.js';
import { freePort, runCli, startCli, waitFor } from '../helpers/processes.js';

/** Real time that a test can move ahead: the sim's codes live 30 s of it. */
const clock = {
  offsetMs: 0,
  now(): number {
    return Date.now() + this.offsetMs;
  },
};

/** The application's handler URL, where the consent page sends the browser with the code. */
const HANDLER_URL = 'https://app.example.com/b24/handler/';

let sim: SimServer;
let portal: SimPortal;
let dir: string;
let files = 0;
const secrets = new Set<string>();

beforeAll(async () => {
  sim = await SimServer.start({ clock });
  portal = sim.addPortal('acme', {
    rateLimit: null,
    events: ['ONCRMLEADADD', 'ONCRMDEALADD'],
    handlerUrl: HANDLER_URL,
  });
  portal.fill({ counts: { ONCRMLEADADD: { queued: 70, error: 3, reserved: 2 } } });
  dir = await mkdtemp(join(tmpdir(), 'b24-auth-'));
  secrets.add(portal.clientSecret);
});

afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

function envFor(
  tokenFile: string,
  overrides: Record<string, string> = {},
  target: SimPortal = portal,
): Record<string, string> {
  return {
    B24_PORTAL_URL: target.restUrl,
    B24_PORTAL_NAME: target.id,
    B24_CLIENT_ID: target.clientId,
    B24_CLIENT_SECRET: target.clientSecret,
    B24_OAUTH_URL: sim.oauthUrl,
    B24_TOKEN_FILE: tokenFile,
    ...overrides,
  };
}

function newTokenFile(): string {
  files += 1;
  return join(dir, `acme-${files}.tokens.json`);
}

/** An administrator's browser: opens the consent page and is redirected to the handler URL. */
async function consent(authorizeUrl: string): Promise<URL> {
  const response = await request(authorizeUrl);
  await response.body.dump();
  expect(response.statusCode).toBe(302);
  const location = response.headers['location'];
  if (typeof location !== 'string') throw new Error('no Location');
  const redirect = new URL(location);
  const code = redirect.searchParams.get('code');
  if (code !== null) secrets.add(code);
  return redirect;
}

/** The consent page's address as `auth` printed it. */
function printedAuthorizeUrl(stdout: string): string | undefined {
  return /(https?:\/\/\S+\/oauth\/authorize\/\?\S+)/.exec(stdout)?.[1];
}

async function auth(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return startAuth(args, env).exited;
}

async function waitForAuthorizeUrl(run: { stdout(): string }): Promise<string> {
  return waitFor(async () => printedAuthorizeUrl(run.stdout()), 20_000, 'the authorize URL');
}

/** A code straight from the consent page, as a script would have it. */
async function freshCode(): Promise<string> {
  const url = new URL(portal.authorizeUrl);
  url.searchParams.set('client_id', portal.clientId);
  const code = (await consent(url.href)).searchParams.get('code');
  if (code === null) throw new Error('no code');
  return code;
}

async function storedPair(
  tokenFile: string,
): Promise<{ refreshToken: string; accessToken: string }> {
  const pair = JSON.parse(await readFile(tokenFile, 'utf8')) as {
    refreshToken: string;
    accessToken: string;
  };
  secrets.add(pair.refreshToken);
  secrets.add(pair.accessToken);
  return pair;
}

function expectNoSecrets(text: string): void {
  for (const secret of secrets) expect(text.includes(secret), 'a secret was printed').toBe(false);
}

/** The summary `auth` prints once the pair is saved and the check poll succeeded. */
function expectSummary(stdout: string, tokenFile: string): void {
  expect(stdout).toContain(`Token pair saved in ${tokenFile}`);
  expect(stdout).toMatch(/depth: +75 \(queued 70, reserved 2, error 3\)/);
  expect(stdout).toMatch(/event names: ONCRMDEALADD, ONCRMLEADADD/);
  expect(stdout).toContain('npm start');
}

describe('auth', () => {
  it('takes the code pasted on standard input, saves the pair (0600) and checks it', async () => {
    const tokenFile = newTokenFile();
    const run = startCli(['auth'], envFor(tokenFile), { stdin: 'pipe' });

    const url = await waitForAuthorizeUrl(run);
    const redirect = await consent(url);
    run.child.stdin?.end(`${redirect.searchParams.get('code')}\n`);
    const done = await run.exited;

    expect(done.code, done.stderr).toBe(0);
    expect(url.split('?')[0]).toBe(portal.authorizeUrl);
    expect(new URL(url).searchParams.get('client_id')).toBe(portal.clientId);
    expect(`${redirect.origin}${redirect.pathname}`).toBe(HANDLER_URL);
    expect(redirect.searchParams.get('state')).toBe(new URL(url).searchParams.get('state'));
    expectSummary(done.stdout, tokenFile);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    const pair = await storedPair(tokenFile);
    expect(pair.refreshToken).toMatch(/^[0-9a-f]{32,}$/);
    expectNoSecrets(done.stdout + done.stderr);
    // the saved pair is what the daemon runs on: `once` with no refresh token in the environment
    const once = await runCli(['once', '--json'], envFor(tokenFile));
    expect(once.code, once.stderr).toBe(0);
    expect(JSON.parse(once.stdout)).toMatchObject([{ portal: 'acme', ok: true, depth: 75 }]);
  });

  it('takes the whole redirect address pasted, after a line that is not one', async () => {
    const tokenFile = newTokenFile();
    const run = startAuth([], envFor(tokenFile));

    const redirect = await consent(await waitForAuthorizeUrl(run));
    run.stdin.write('not the address\n');
    run.stdin.end(`${redirect.href}\n`);
    const done = await run.exited;

    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toMatch(/paste it again/);
    expectSummary(done.stdout, tokenFile);
    expectNoSecrets(done.stdout + done.stderr);
  });

  it('receives the redirect on --listen and answers the browser', async () => {
    const tokenFile = newTokenFile();
    const port = await freePort();
    const listen = `http://127.0.0.1:${port}/`;
    portal.configure({ handlerUrl: listen });
    const run = startAuth(['--listen', `127.0.0.1:${port}`], envFor(tokenFile));

    const redirect = await consent(await waitForAuthorizeUrl(run)).finally(() =>
      portal.configure({ handlerUrl: HANDLER_URL }),
    );
    await waitFor(
      async () => (run.stdout().includes(listen) ? true : undefined),
      20_000,
      'listening',
    );
    const page = await request(redirect);
    const html = await page.body.text();
    const done = await run.exited;

    expect(`${redirect.origin}/`).toBe(listen);
    expect(page.statusCode).toBe(200);
    expect(html).toContain('You can close this tab');
    expect(done.code, done.stderr).toBe(0);
    expectSummary(done.stdout, tokenFile);
    expectNoSecrets(done.stdout + done.stderr + html);
  });

  it('on --listen, refuses a redirect of another authorization (its state differs)', async () => {
    const port = await freePort();
    const run = startAuth(['--listen', `127.0.0.1:${port}`], envFor(newTokenFile()));
    await waitFor(
      async () => (run.stdout().includes(`127.0.0.1:${port}`) ? true : undefined),
      20_000,
      'listening',
    );

    const page = await request(`http://127.0.0.1:${port}/?code=${await freshCode()}&state=stale`);
    await page.body.dump();
    const done = await run.exited;

    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/belongs to another authorization/);
    expectNoSecrets(done.stdout + done.stderr);
  });

  it('exchanges --code for scripts', async () => {
    const tokenFile = newTokenFile();

    const done = await auth(['--code', await freshCode()], envFor(tokenFile));

    expect(done.code, done.stderr).toBe(0);
    expectSummary(done.stdout, tokenFile);
    expect(printedAuthorizeUrl(done.stdout)).toBeUndefined();
    expectNoSecrets(done.stdout + done.stderr);
  });

  it('refuses a code older than 30 seconds: exit 1, nothing saved', async () => {
    const tokenFile = newTokenFile();
    const code = await freshCode();
    clock.offsetMs += 31_000;

    const done = await auth(['--code', code], envFor(tokenFile));

    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/invalid_grant/);
    expect(done.stderr).toMatch(/lives 30 seconds/);
    expect(done.stdout).toBe('');
    await expect(stat(tokenFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expectNoSecrets(done.stdout + done.stderr);
  });

  it('refuses a code used once already', async () => {
    const code = await freshCode();
    const first = await auth(['--code', code], envFor(newTokenFile()));

    const second = await auth(['--code', code], envFor(newTokenFile()));

    expect(first.code, first.stderr).toBe(0);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/invalid_grant.*serves once/s);
    expectNoSecrets(second.stdout + second.stderr);
  });

  it('says invalid_client for a wrong client secret', async () => {
    const wrong = 'WrongSecret0123456789abcdefghijklmnopqrstuvwxyz';
    secrets.add(wrong);

    const done = await auth(
      ['--code', await freshCode()],
      envFor(newTokenFile(), { B24_CLIENT_SECRET: wrong }),
    );

    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/invalid_client/);
    expect(done.stderr).toMatch(/B24_CLIENT_SECRET/);
    expectNoSecrets(done.stdout + done.stderr);
  });

  it('says "authorize as an administrator" when the user is not one', async () => {
    const tokenFile = newTokenFile();
    portal.configure({ consent: { admin: false } });
    const code = await freshCode().finally(() => portal.configure({ consent: {} }));

    const done = await auth(['--code', code], envFor(tokenFile));

    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/ACCESS_DENIED/);
    expect(done.stderr).toMatch(/authorize as an administrator/);
    expect(done.stdout).toContain(`Token pair saved in ${tokenFile}`);
    expect(done.stdout).not.toContain('npm start');
    expectNoSecrets(done.stdout + done.stderr);
  });

  it('refuses a code of another portal and saves nothing', async () => {
    const other = sim.addPortal('other', { rateLimit: null, handlerUrl: HANDLER_URL });
    const tokenFile = newTokenFile();
    const code = await freshCode();

    const done = await auth(['--code', code], envFor(tokenFile, {}, other));

    expect(done.code).toBe(1);
    expect(done.stderr).toContain(`the code was issued by the portal at ${portal.restUrl}`);
    expect(done.stderr).toMatch(/nothing was saved/);
    await expect(stat(tokenFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expectNoSecrets(done.stdout + done.stderr);
  });

  it('exits 1 when the token file cannot be written, and says why', async () => {
    const notADirectory = join(dir, 'plain-file');
    await writeFile(notADirectory, 'x');
    const tokenFile = join(notADirectory, 'acme.tokens.json');

    const done = await auth(['--code', await freshCode()], envFor(tokenFile));

    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/could not be saved.*cannot create the directory.*run auth again/s);
    expect(done.stdout).toBe('');
    expectNoSecrets(done.stdout + done.stderr);
  });

  it('checks that the connector is allowed: Professional plan first, then the queue of c1', async () => {
    const shop = sim.addPortal('shop', {
      rateLimit: null,
      handlerUrl: HANDLER_URL,
      connectorsAllowed: false,
    });
    shop.bind('ONIMCONNECTORMESSAGEADD', { connector: 'c1' });
    shop.fill({ counts: { ONIMCONNECTORMESSAGEADD: { queued: 4 } } }, 'c1');
    shop.fill({ counts: { ONCRMLEADADD: { queued: 9 } } });
    const codeFor = async (): Promise<string> =>
      (await consent(`${shop.authorizeUrl}?client_id=${shop.clientId}`)).searchParams.get('code') ??
      '';
    const env = envFor(newTokenFile(), { B24_AUTH_CONNECTOR: 'c1' }, shop);

    const refused = await auth(['--code', await codeFor()], env);
    shop.configure({ connectorsAllowed: true });
    const allowed = await auth(['--code', await codeFor()], env);

    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/WRONG_LICENSE/);
    expect(refused.stderr).toMatch(/Professional/);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stdout).toMatch(/watching: +the queue of connector c1 \(connectors allowed/);
    expect(allowed.stdout).toMatch(/depth: +4 /);
    expect(allowed.stdout).toMatch(/event names: ONIMCONNECTORMESSAGEADD\n/);
    expectNoSecrets(refused.stdout + refused.stderr + allowed.stdout + allowed.stderr);
  });

  it('says the subscription lapsed when the OAuth server answers PAYMENT_REQUIRED', async () => {
    const tokenFile = newTokenFile();
    const code = await freshCode();
    portal.faults.set({ tokenEndpointError: FORCED_ERRORS.paymentRequired });

    const done = await auth(['--code', code], envFor(tokenFile)).finally(() =>
      portal.faults.set({ tokenEndpointError: null }),
    );

    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/PAYMENT_REQUIRED.*subscription has lapsed/s);
    await expect(stat(tokenFile)).rejects.toMatchObject({ code: 'ENOENT' });
    expectNoSecrets(done.stdout + done.stderr);
  });

  it('with several portals in MONITOR_CONFIG: exit 2 without --portal, the named one with it', async () => {
    const beta = sim.addPortal('beta', {
      rateLimit: null,
      events: ['ONTASKADD'],
      handlerUrl: HANDLER_URL,
    });
    const config = join(dir, 'two.yaml');
    const betaFile = newTokenFile();
    await writeFile(
      config,
      [
        'defaults:',
        `  clientId: ${portal.clientId}`,
        `  oauthUrl: ${sim.oauthUrl}`,
        'portals:',
        `  - name: acme`,
        `    url: ${portal.restUrl}`,
        `    tokenFile: ${newTokenFile()}`,
        `  - name: beta`,
        `    url: ${beta.restUrl}`,
        `    tokenFile: ${betaFile}`,
        '',
      ].join('\n'),
    );
    const env = { MONITOR_CONFIG: config, B24_CLIENT_SECRET: portal.clientSecret };
    const code =
      (await consent(`${beta.authorizeUrl}?client_id=${beta.clientId}`)).searchParams.get('code') ??
      '';

    const unnamed = await auth(['--code', code], env);
    const named = await auth(['--portal', 'beta', '--code', code], env);

    expect(unnamed.code).toBe(2);
    expect(unnamed.stderr).toMatch(/2 portals \(acme, beta\): choose one with --portal NAME/);
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toContain(`Token pair saved in ${betaFile}`);
    expect(named.stdout).toMatch(/depth: +0 /);
    expect(named.stdout).toMatch(/event names: ONTASKADD/);
    await storedPair(betaFile);
    expectNoSecrets(unnamed.stdout + unnamed.stderr + named.stdout + named.stderr);
  });

  it('exits 2 on an unknown option, as a process: the usage on stderr', async () => {
    const done = await runCli(['auth', '--bogus'], envFor(newTokenFile()));

    expect(done.code, done.stderr).toBe(2);
    expect(done.stderr).toMatch(/unknown option --bogus/);
    expect(done.stderr).toContain('Usage: b24-offline-monitor auth');
    expectNoSecrets(done.stdout + done.stderr);
  });

  it.each([
    ['a bad --listen', ['--listen', 'nowhere'], [], /--listen nowhere: expected/],
    [
      '--code and --listen at once',
      ['--code', 'x', '--listen', '127.0.0.1:1'],
      [],
      /exclude each other/,
    ],
    ['no code on standard input', [], [], /no code was given on standard input/],
    ['a missing client id', ['--code', 'abcdefgh12'], ['B24_CLIENT_ID'], /B24_CLIENT_ID/],
    [
      'an unknown --portal',
      ['--portal', 'nope', '--code', 'abcdefgh12'],
      [],
      /--portal nope: no such portal; the configuration has acme/,
    ],
  ])('exits 2 on %s', async (_what, args, unset, message) => {
    const env: Record<string, string | undefined> = envFor(newTokenFile());
    for (const name of unset) delete env[name];
    const run = startAuth(args, env);
    run.stdin.end(); // nothing typed: end of input

    const { code, stdout: out, stderr: err } = await run.exited;

    expect(code, err).toBe(2);
    expect(err).toMatch(message);
    expectNoSecrets(out + err);
  });
});
