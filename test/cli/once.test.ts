/**
 * `b24-offline-monitor once [--json]` as a user runs it: exit codes, output, and a rotated
 * refresh token that survives a restart (the seed token from the environment is used up).
 */
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatProblems, loadConfig } from '../../src/config/load.js';
import type { SimServer } from '../../src/sim/index.js';
import { type SimPortal } from '../../src/sim/index.js';
import { portalEnv, startAcme } from '../helpers/env.js';
import { jsonLines, runCli, startCli, waitFor } from '../helpers/processes.js';
import { startSlowOAuth } from '../hardening/slowOAuth.js';

let sim: SimServer;
let portal: SimPortal;
let dir: string;
const secrets: string[] = [];

beforeAll(async () => {
  ({ sim, portal } = await startAcme({ queued: 70, error: 3, reserved: 2 }));
  dir = await mkdtemp(join(tmpdir(), 'b24-once-'));
  secrets.push(portal.clientSecret);
});

afterAll(async () => {
  expect(new Set(portal.journal.methodsBy('monitor'))).toEqual(
    new Set(['batch', 'event.get', 'event.offline.list']),
  );
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

function envFor(refreshToken: string, tokenFile: string): Record<string, string> {
  secrets.push(refreshToken);
  return portalEnv(sim, portal, { refreshToken, tokenFile, name: 'acme' });
}

async function refreshWith(
  refreshToken: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(sim.oauthUrl);
  url.search = new URLSearchParams({
    grant_type: 'refresh_token',
    client_id: portal.clientId,
    client_secret: portal.clientSecret,
    refresh_token: refreshToken,
  }).toString();
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function expectNoSecrets(text: string): void {
  for (const secret of secrets) expect(text.includes(secret), 'a secret was printed').toBe(false);
}

describe('once', () => {
  // One behaviour per process start: the first prints JSON, the restart prints the table.
  it('prints JSON of every portal and exits 0; the rotated pair survives a restart, which prints a table by default', async () => {
    const seed = portal.authorize('monitor');
    const tokenFile = join(dir, 'acme.tokens.json');
    const env = envFor(seed.refreshToken, tokenFile);

    const first = await runCli(['once', '--json'], env);
    portal.expireAccessTokens();
    const second = await runCli(['once'], env);

    expect(first.code).toBe(0);
    const [result] = JSON.parse(first.stdout) as Record<string, unknown>[];
    expect(result).toMatchObject({
      portal: 'acme',
      ok: true,
      depth: 75,
      counts: { queued: 70, reserved: 2, error: 3 },
    });
    expect(second.code, second.stderr).toBe(0);
    const [header, row, ...more] = second.stdout.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual([
      'PORTAL',
      'STATUS',
      'DEPTH',
      'QUEUED',
      'RESERVED',
      'ERROR',
      'REQUESTS',
      'TIME',
      'DETAIL',
    ]);
    expect(row?.split(/\s+/).slice(0, 6)).toEqual(['acme', 'ok', '75', '70', '2', '3']);
    expect(more).toEqual([]);
    // the seed from the environment is used up: only the rotated pair in the file still works
    expect(await refreshWith(seed.refreshToken)).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
    const stored = JSON.parse(await readFile(tokenFile, 'utf8')) as {
      refreshToken: string;
      accessToken: string;
    };
    secrets.push(stored.refreshToken, stored.accessToken);
    expect(stored.refreshToken).not.toBe(seed.refreshToken);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expectNoSecrets(first.stdout + first.stderr + second.stdout + second.stderr);
  });

  it('exits 1 when a poll fails, and says the application must be re-authorized', async () => {
    const seed = portal.authorize('monitor');
    portal.revokeRefreshTokens('monitor');

    const run = await runCli(
      ['once', '--json'],
      envFor(seed.refreshToken, join(dir, 'revoked.tokens.json')),
    );

    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject([
      { portal: 'acme', ok: false, error: { reason: 'auth' } },
    ]);
    const failure = jsonLines(run.stderr).find((line) =>
      String(line['msg']).startsWith('Poll failed: the refresh token was refused'),
    );
    expect(failure).toMatchObject({
      level: 'error',
      portal: 'acme',
      reason: 'auth',
      reauthorize: true,
    });
    expect(String(failure?.['msg'])).toMatch(/re-authorized/);
    expectNoSecrets(run.stdout + run.stderr);
  });

  // The refresh rotated the pair (the seed is dead) but the file could not take the new one:
  // once this process exits, no refresh token is left. The poll worked; the run still failed.
  it('exits 1 when the rotated pair cannot be saved, and says so in its result and its log', async () => {
    const seed = portal.authorize('monitor');
    const tokenDir = join(dir, 'unsaved');
    await mkdir(tokenDir);
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const oauth = await startSlowOAuth(sim.oauthUrl, 0, gate);
    try {
      const env = {
        ...envFor(seed.refreshToken, join(tokenDir, 'acme.tokens.json')),
        B24_OAUTH_URL: oauth.url,
      };
      const run = startCli(['once', '--json'], env);
      // the process holds its lock and waits for the new pair: its directory goes away now
      await waitFor(
        () => Promise.resolve(oauth.forwarded === 1 ? true : undefined),
        20_000,
        'the token request',
      );
      await rename(tokenDir, `${tokenDir}.away`);
      await writeFile(tokenDir, 'not a directory');
      open();
      const finished = await run.exited;

      expect(finished.code, finished.stderr).toBe(1);
      const [result] = JSON.parse(finished.stdout) as Record<string, unknown>[];
      expect(result).toMatchObject({ portal: 'acme', ok: true, depth: 75, error: null });
      expect(result?.['tokenFileError']).toEqual(expect.stringMatching(/\S/));
      const logged = jsonLines(finished.stderr).filter((line) =>
        String(line['msg']).startsWith('Token file could not be written'),
      );
      expect(logged).toHaveLength(1);
      expect(logged[0]).toMatchObject({ level: 'error', portal: 'acme' });
      expect(oauth.forwarded).toBe(1);
      expectNoSecrets(finished.stdout + finished.stderr);
    } finally {
      open();
      await oauth.close();
    }
  });

  // Exit 2, nothing on stdout, the message on stderr for `once` is a process's behaviour:
  // test/hardening/config.test.ts starts it. What the message lists is the loader's, so it is
  // checked here in-process, with the calls the CLI makes (configOrExit in src/cli.ts).
  it('on bad configuration, lists every problem in one message, without the secret', () => {
    const result = loadConfig({
      env: {
        B24_PORTAL_URL: 'http://portal.example.com/rest/',
        B24_CLIENT_SECRET: 'a-secret-value-123456',
        MONITOR_SCHEDULE: 'every minute',
      },
    });

    expect(result.ok).toBe(false);
    const message = result.ok ? '' : formatProblems(result.problems);
    for (const field of [
      'B24_PORTAL_URL',
      'B24_CLIENT_ID',
      'B24_REFRESH_TOKEN',
      'MONITOR_SCHEDULE',
    ]) {
      expect(message).toContain(field);
    }
    expect(message).not.toContain('a-secret-value-123456');
  });

  it.each([
    [['bogus'], 2],
    [['once', '--jsn'], 2],
    [['--help'], 0],
    [['--version'], 0],
  ])('%j exits %i', async (args, code) => {
    const run = await runCli(args, {});

    expect(run.code).toBe(code);
  });

  // however the tests start the CLI (build, bundle or tsx), it finds its own package.json
  it('--version prints the version of package.json', async () => {
    const pkg = JSON.parse(
      await readFile(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version: string };

    const run = await runCli(['--version'], {});

    expect(run.stdout.trim()).toBe(pkg.version);
  });
});
