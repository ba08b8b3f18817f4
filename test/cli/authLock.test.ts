/**
 * `auth` takes the token file's lock as the daemon does: with a monitor running on the token
 * file, it stops before using the code, names the holder and leaves the file alone (the
 * monitor would overwrite a new pair with its own at its next refresh); once the monitor is
 * stopped, the same code still works.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuth } from '../helpers/authInProcess.js';
import { SimServer, type SimPortal } from '../../src/sim/index.js';
import { portalEnv } from '../helpers/env.js';
import { startCli, waitFor } from '../helpers/processes.js';

let sim: SimServer;
let portal: SimPortal;
let dir: string;

beforeAll(async () => {
  sim = await SimServer.start();
  portal = sim.addPortal('acme', {
    rateLimit: null,
    events: ['ONCRMLEADADD'],
    handlerUrl: 'https://app.example.com/b24/handler/',
  });
  dir = await mkdtemp(join(tmpdir(), 'b24-auth-lock-'));
});

afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

/** A code from the consent page, as an administrator's browser gets it. */
async function freshCode(): Promise<string> {
  const url = new URL(portal.authorizeUrl);
  url.searchParams.set('client_id', portal.clientId);
  const response = await request(url.href);
  await response.body.dump();
  const location = response.headers['location'];
  const code = typeof location === 'string' ? new URL(location).searchParams.get('code') : null;
  if (code === null) throw new Error('no code');
  return code;
}

/**
 * `auth` in-process: runAuth is what the CLI calls with the arguments after `auth` (its result
 * is the exit code). The monitor holding the lock is a real process: another pid is what the
 * lock judges; auth's own start as a process is test/cli/auth.test.ts's.
 */
async function auth(
  argv: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [, ...args] = argv;
  const run = startAuth(args, env);
  return run.exited;
}

describe('auth and a running monitor', () => {
  it('stops before using the code, names the monitor holding the file, and leaves it alone', async () => {
    const tokenFile = join(dir, 'acme.tokens.json');
    const seed = portal.authorize('monitor');
    const env = {
      ...portalEnv(sim, portal, { refreshToken: seed.refreshToken, tokenFile, name: 'acme' }),
      MONITOR_LISTEN: '127.0.0.1:0',
    };
    const daemon = startCli(['start'], env);
    await waitFor(
      async () => (daemon.stdout().includes('Monitor started') ? true : undefined),
      15_000,
      'the monitor',
    );
    // the monitor's first poll refreshed the seed and wrote the file
    const before = await waitFor(
      () => readFile(tokenFile, 'utf8').catch(() => undefined),
      15_000,
      'the token file',
    );
    const code = await freshCode();

    const refused = await auth(['auth', '--code', code], env);
    const after = await readFile(tokenFile, 'utf8');
    daemon.child.kill('SIGTERM');
    const daemonExit = await daemon.exited;
    const retried = await auth(['auth', '--code', code], env);

    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(
      `the token file ${tokenFile} is in use by a running monitor ` +
        `(pid ${daemon.child.pid} on host ${hostname()})`,
    );
    expect(refused.stderr).toMatch(/Stop that monitor, run auth again/);
    expect(after).toBe(before);
    expect(daemonExit.code).toBe(0);
    // the refused run did not spend the code, and released nothing it did not hold
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain(`Token pair saved in ${tokenFile}`);
    expect((await readdir(dir)).filter((name) => name.endsWith('.lock'))).toEqual([]);
  });
});
