/**
 * Two containers on one volume, for real: each monitor runs as pid 1 in a pid and host-name
 * namespace of its own (`unshare`, which needs root or user namespaces; skipped without), and
 * both point at one token file. The second must not take the first one's lock for its own
 * earlier self (same pid 1) nor for a dead process's: it stops, naming the first container.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SimServer, type SimPortal } from '../../src/sim/index.js';
import { portalEnv } from '../helpers/env.js';
import { issuedSecrets } from '../helpers/harness.js';
import { startProcess, waitFor, type Running } from '../helpers/processes.js';

/** `unshare` with its own pid and UTS namespaces works here (root, or user namespaces). */
const canUnshare =
  spawnSync('unshare', ['--uts', '--pid', '--fork', '--mount-proc', 'true']).status === 0;

let sim: SimServer;
let portal: SimPortal;
let dir: string;
/** Containers still running when a test fails: SIGKILL to unshare makes it SIGTERM its child. */
const started: Running[] = [];

beforeAll(async () => {
  sim = await SimServer.start();
  portal = sim.addPortal('acme', { rateLimit: null, events: ['ONCRMLEADADD'] });
  dir = await mkdtemp(join(tmpdir(), 'b24-containers-'));
});

afterAll(async () => {
  for (const container of started)
    if (container.child.exitCode === null) container.child.kill('SIGKILL');
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

/** The monitor CLI as pid 1 of a "container" named `host`. */
function inContainer(host: string, args: string[], env: Record<string, string>): Running {
  const container = startProcess(
    'unshare',
    [
      '--uts',
      '--pid',
      '--fork',
      '--mount-proc',
      '--kill-child=SIGTERM',
      'sh',
      '-c',
      'hostname "$0" && exec "$@"',
      host,
      process.execPath,
      ...inject('cliEntry'),
      ...args,
    ],
    env,
  );
  started.push(container);
  return container;
}

/**
 * The pid, seen from here, of the container's pid 1 (the monitor): `unshare --fork` itself
 * ignores SIGTERM, so the signal goes to the monitor as `docker stop` sends it.
 */
function containerInit(container: Running): number {
  const pid = container.child.pid;
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return Number(children.split(' ')[0]);
}

describe('containers sharing a token file', () => {
  it.skipIf(!canUnshare)(
    'the second container, pid 1 too, stops and names the first one; the first runs on',
    async () => {
      const tokenFile = join(dir, 'acme.tokens.json');
      const seed = portal.authorize('monitor');
      issuedSecrets.add(seed.refreshToken).add(seed.accessToken);
      const env = {
        ...portalEnv(sim, portal, { refreshToken: seed.refreshToken, tokenFile, name: 'acme' }),
        MONITOR_LISTEN: '127.0.0.1:0',
      };
      const first = inContainer('monitor-a', ['start'], env);
      await waitFor(
        async () => (first.stdout().includes('Monitor started') ? true : undefined),
        15_000,
        'the first container',
      );
      const lock = JSON.parse(await readFile(join(dir, '.acme.tokens.json.lock'), 'utf8')) as {
        host: string;
        pid: number;
      };

      const second = await inContainer('monitor-b', ['start'], env).exited;
      const stillRunning = first.child.exitCode === null;
      process.kill(containerInit(first), 'SIGTERM');
      const firstExit = await first.exited;

      expect(lock).toMatchObject({ host: 'monitor-a', pid: 1 });
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/in use by another monitor \(pid 1\) on host monitor-a/);
      expect(stillRunning).toBe(true);
      expect(firstExit.code).toBe(0);
    },
  );
});
