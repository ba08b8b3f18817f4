/**
 * The token file's lock on real files: who it names as its holder (host, pid, instance), and
 * how a lock found at start is judged when containers share the volume and each one's process
 * is pid 1: another host's lock is held while renewed, never taken for this process's own or
 * for a dead process's; this host's earlier pid 1 (a restarted container) is taken over.
 */
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LOCK_STALE_MS } from '../../src/b24/lockOwner.js';
import {
  LOCK_RENEW_MS,
  lockTokenFile,
  TokenFileLockedError,
  type TokenFileLock,
} from '../../src/b24/tokenFileLock.js';

let root: string;
let files = 0;
const taken: TokenFileLock[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'b24-lock-'));
});

afterEach(() => {
  vi.useRealTimers();
  for (const lock of taken.splice(0)) lock.release();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function newTokenFile(): { tokenFile: string; lockFile: string } {
  files += 1;
  return {
    tokenFile: join(root, `p${files}.tokens.json`),
    lockFile: join(root, `.p${files}.tokens.json.lock`),
  };
}

function take(...args: Parameters<typeof lockTokenFile>): TokenFileLock {
  const lock = lockTokenFile(...args);
  taken.push(lock);
  return lock;
}

async function owner(lockFile: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(lockFile, 'utf8')) as Record<string, unknown>;
}

/** A lock as another monitor left it, last renewed `ageMs` ago. */
async function plant(lockFile: string, holder: object, ageMs = 0): Promise<void> {
  await writeFile(lockFile, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  const at = new Date(Date.now() - ageMs);
  await utimes(lockFile, at, at);
}

/** The largest pid Linux hands out is 2^22: no process has this one. */
const DEAD_PID = 4_194_304;

describe('the lock names its holder', () => {
  it('writes host name, pid and a random instance id; each lock its own instance', async () => {
    const { tokenFile, lockFile } = newTokenFile();

    const first = take(tokenFile);
    const firstOwner = await owner(lockFile);
    first.release();
    take(tokenFile);
    const secondOwner = await owner(lockFile);

    expect(firstOwner).toMatchObject({ host: hostname(), pid: process.pid });
    expect(firstOwner['instance']).toMatch(/^[0-9a-f]{16}$/);
    expect(secondOwner['instance']).not.toBe(firstOwner['instance']);
  });

  it('release removes only its own lock, not one that replaced it', async () => {
    const { tokenFile, lockFile } = newTokenFile();
    const first = take(tokenFile, { host: 'c1', pid: 1 });
    // the same host and pid after a restart of the container: takes the lock over
    const second = take(tokenFile, { host: 'c1', pid: 1 });

    first.release();
    const after = await owner(lockFile);
    second.release();

    expect(after).toMatchObject({ host: 'c1', pid: 1 });
    await expect(stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('containers sharing the volume, each one pid 1', () => {
  it("another container's fresh lock is held, named in the error: not taken for its own", async () => {
    const { tokenFile, lockFile } = newTokenFile();
    await plant(lockFile, { host: 'container-a', pid: 1, instance: 'aaaa' });

    const attempt = () => take(tokenFile, { host: 'container-b', pid: 1 });

    expect(attempt).toThrow(TokenFileLockedError);
    expect(attempt).toThrow(/in use by another monitor \(pid 1\) on host container-a/);
    expect(await owner(lockFile)).toMatchObject({ host: 'container-a', instance: 'aaaa' });
  });

  it("another host's lock is not judged dead by a pid that is dead here", async () => {
    const { tokenFile, lockFile } = newTokenFile();
    await plant(lockFile, { host: 'container-a', pid: DEAD_PID, instance: 'aaaa' });

    expect(() => take(tokenFile, { host: 'container-b', pid: 1 })).toThrow(TokenFileLockedError);
  });

  it("another host's lock left unrenewed for LOCK_STALE_MS is taken over", async () => {
    const { tokenFile, lockFile } = newTokenFile();
    await plant(lockFile, { host: 'container-a', pid: 1, instance: 'aaaa' }, LOCK_STALE_MS + 1_000);

    take(tokenFile, { host: 'container-b', pid: 1 });

    expect(await owner(lockFile)).toMatchObject({ host: 'container-b', pid: 1 });
  });

  it('this host, this pid, another instance (the container restarted) is taken over', async () => {
    const { tokenFile, lockFile } = newTokenFile();
    await plant(lockFile, { host: 'container-a', pid: 1, instance: 'before-restart' });

    take(tokenFile, { host: 'container-a', pid: 1 });

    expect(await owner(lockFile)).toMatchObject({ host: 'container-a', pid: 1 });
    expect((await owner(lockFile))['instance']).not.toBe('before-restart');
  });

  it('this host, another pid: held while that process lives, taken over once it is gone', async () => {
    const live = newTokenFile();
    const dead = newTokenFile();
    await plant(live.lockFile, { host: hostname(), pid: process.ppid, instance: 'x' });
    await plant(dead.lockFile, { host: hostname(), pid: DEAD_PID, instance: 'y' });

    expect(() => take(live.tokenFile)).toThrow(
      new RegExp(`\\(pid ${process.ppid}\\) on host ${hostname()}`),
    );
    take(dead.tokenFile);
    expect(await owner(dead.lockFile)).toMatchObject({ pid: process.pid });
  });

  it('a lock of an older version (a bare pid) is judged by that pid, as before', async () => {
    const { tokenFile, lockFile } = newTokenFile();
    await writeFile(lockFile, `${DEAD_PID}\n`);

    take(tokenFile);

    expect(await owner(lockFile)).toMatchObject({ pid: process.pid });
  });
});

describe('renewal', () => {
  it('the holder touches its lock every LOCK_RENEW_MS, so other hosts see it alive', async () => {
    const { tokenFile, lockFile } = newTokenFile();
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    take(tokenFile);
    const old = new Date(Date.now() - LOCK_STALE_MS - 1_000);
    await utimes(lockFile, old, old);

    vi.advanceTimersByTime(LOCK_RENEW_MS);
    const renewed = (await stat(lockFile)).mtimeMs;

    expect(Math.abs(renewed - Date.now())).toBeLessThan(1_000);
    expect(() => take(tokenFile, { host: 'container-b', pid: 1 })).toThrow(TokenFileLockedError);
  });
});
