/**
 * Token file hygiene: one monitor per token file (a second stops at start, exit 2), a stale
 * lock is taken over, a directory others can write to is refused, a file others can read is
 * warned about, and a `.pending` sidecar is adopted only when it is the monitor's own kind.
 */
import { symlink, chmod, chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileTokenStore } from '../../src/b24/fileTokenStore.js';
import { lockTokenFile } from '../../src/b24/tokenFileLock.js';
import { SimServer, type SimPortal } from '../../src/sim/index.js';
import { portalEnv } from '../helpers/env.js';
import { issuedSecrets } from '../helpers/harness.js';
import { needRedis, startRedis } from '../helpers/redis.js';
import { daemonStarted, jsonLines } from '../helpers/processes.js';
import { runMonitorCli, scanTextsForSecretsAfterAll, startMonitorCli } from './support.js';

let sim: SimServer;
let portal: SimPortal;
let root: string;

scanTextsForSecretsAfterAll([], () => [portal.clientSecret]);

beforeAll(async () => {
  sim = await SimServer.start();
  portal = sim.addPortal('acme', { rateLimit: null, events: ['ONCRMLEADADD'] });
  root = await mkdtemp(join(tmpdir(), 'b24-hygiene-'));
});

afterAll(async () => {
  await sim.close();
  await rm(root, { recursive: true, force: true });
});

async function setup(name: string) {
  const dir = await mkdtemp(join(root, `${name}-`));
  const tokenFile = join(dir, 'acme.tokens.json');
  const seed = portal.authorize('monitor');
  issuedSecrets.add(seed.refreshToken).add(seed.accessToken);
  const env = {
    ...portalEnv(sim, portal, {
      refreshToken: seed.refreshToken,
      accessToken: seed.accessToken,
      tokenFile,
      name: 'acme',
    }),
    MONITOR_LISTEN: '127.0.0.1:0',
  };
  return { dir, tokenFile, env };
}

describe('one monitor per token file', () => {
  it('a second daemon on the same file stops at start with one clear message, exit 2', async () => {
    const { dir, env } = await setup('lock');
    const first = await startMonitorCli(['start'], env);
    await daemonStarted(first);

    const second = await runMonitorCli(['start'], env);
    first.child.kill('SIGTERM');
    const firstExit = await first.exited;

    expect(second.code).toBe(2);
    expect(second.stdout).toBe('');
    expect(second.stderr.trim().split('\n')).toHaveLength(1);
    expect(second.stderr).toMatch(
      new RegExp(`in use by another monitor \\(pid ${first.child.pid}\\)`),
    );
    expect(firstExit.code).toBe(0);
    expect((await readdir(dir)).filter((name) => name.endsWith('.lock'))).toEqual([]);
  });

  it('with a Redis token store, shards on one machine and one config both start', async (ctx) => {
    needRedis(ctx);
    const redis = await startRedis();
    try {
      const { dir, env } = await setup('redis');
      const shard = (i: number) =>
        startMonitorCli(['start'], {
          ...env,
          MONITOR_TOKEN_STORE: redis.url,
          MONITOR_SHARDS: '2',
          MONITOR_SHARD: String(i),
        });
      const shards = [await shard(0), await shard(1)];
      await Promise.all(shards.map(daemonStarted));
      for (const s of shards) s.child.kill('SIGTERM');
      const exits = await Promise.all(shards.map((s) => s.exited));

      expect(exits.map((e) => e.code)).toEqual([0, 0]);
      expect((await readdir(dir)).filter((name) => name.endsWith('.lock'))).toEqual([]);
    } finally {
      await redis.stop();
    }
  });

  // In-process: taking the lock is the first thing a start does (src/cli.ts), and the exit
  // code of a start that takes it is the first test's; a process adds nothing here.
  it('a lock left by a killed process is taken over', async () => {
    const { dir, tokenFile } = await setup('stale');
    // a pid that no process has: the largest pid possible is 2^22
    await writeFile(join(dir, '.acme.tokens.json.lock'), '4194304\n');

    const lock = lockTokenFile(tokenFile);
    const held = await readFile(join(dir, '.acme.tokens.json.lock'), 'utf8');
    lock.release();

    expect(JSON.parse(held)).toMatchObject({ pid: process.pid });
    expect((await readdir(dir)).filter((name) => name.endsWith('.lock'))).toEqual([]);
  });
});

describe('permissions', () => {
  it('refuses a token directory writable by others, at start, exit 2', async () => {
    const { dir, env } = await setup('open-dir');
    await chmod(dir, 0o777);

    const result = await runMonitorCli(['once'], env);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Token directory .* is writable by others \(mode 777\)/);
  });

  it('warns about a token file readable by others, in a log line', async () => {
    const { tokenFile, env } = await setup('readable');
    const seed = portal.authorize('monitor');
    issuedSecrets.add(seed.refreshToken).add(seed.accessToken);
    await writeFile(tokenFile, JSON.stringify({ refreshToken: seed.refreshToken }), {
      mode: 0o644,
    });
    await chmod(tokenFile, 0o644);

    const result = await runMonitorCli(['once', '--json'], env);

    expect(result.code, result.stderr).toBe(0);
    expect(jsonLines(result.stderr)).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'Token file unsafe',
        portal: 'acme',
        detail: expect.stringMatching(/readable by group or others \(mode 644\): chmod 600/),
      }),
    );
  });
});

describe('a .pending sidecar', () => {
  const real = { refreshToken: 'the-real-refresh-token-0001' };
  const planted = JSON.stringify({ refreshToken: 'a-planted-refresh-token-01' });

  it.each([
    ['mode 0644', async (p: string) => writeFile(p, planted, { mode: 0o644 })],
    [
      'another user’s',
      async (p: string) => {
        await writeFile(p, planted, { mode: 0o600 });
        await chown(p, 4242, 4242);
      },
    ],
    [
      'a symlink',
      async (p: string) => {
        await writeFile(`${p}.target`, planted, { mode: 0o600 });
        await symlink(`${p}.target`, p);
      },
    ],
  ])('is not adopted when it is %s', async (_kind, plant) => {
    const dir = await mkdtemp(join(root, 'pending-'));
    const path = join(dir, 'acme.tokens.json');
    await writeFile(path, JSON.stringify(real), { mode: 0o600 });
    const pending = join(dir, '.acme.tokens.json.pending');
    await plant(pending);
    const warnings: string[] = [];

    const pair = await new FileTokenStore(path, { warn: (m) => warnings.push(m) }).load();

    expect(pair?.refreshToken).toBe(real.refreshToken);
    expect(warnings).toEqual([
      expect.stringMatching(/ignored and removed: not a 0600 regular file/),
    ]);
  });

  it('is adopted when it is the monitor’s own (0600, its user, newer than the file)', async () => {
    const dir = await mkdtemp(join(root, 'pending-own-'));
    const path = join(dir, 'acme.tokens.json');
    await writeFile(path, JSON.stringify(real), { mode: 0o600 });
    const pending = join(dir, '.acme.tokens.json.pending');
    await writeFile(pending, planted, { mode: 0o600 });

    const pair = await new FileTokenStore(path).load();

    expect(pair?.refreshToken).toBe('a-planted-refresh-token-01');
    expect((await readdir(dir)).filter((name) => name.endsWith('.lock'))).toEqual([]);
  });
});
