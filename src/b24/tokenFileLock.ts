/**
 * One holder per token file: two monitors (or `auth` and a running monitor) on one file rotate
 * each other's refresh token to death. The lock is `.<name>.lock` next to the token file,
 * created exclusively, holding its owner as one JSON line: host name, pid and a random
 * instance id.
 *
 * A pid alone cannot tell holders apart when containers share the volume: each container's
 * process is pid 1. So a lock's owner is judged by where it runs:
 * - on this host, another pid: held while that pid is alive;
 * - on this host, this pid: left by an earlier process that had the pid (a restarted
 *   container), or by this process itself: taken over;
 * - on another host (another container or machine, whose pids mean nothing here): held while
 *   its holder renews it; the holder touches the file every LOCK_RENEW_MS, and a lock left
 *   untouched for LOCK_STALE_MS is taken over.
 * The instance id makes release and renewal act only on the lock this very call took.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  fstatSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { TokenStoreError } from './errors.js';
import { checkTokenDirectory, errnoCode } from './tokenFileSafety.js';

/** How often a holder touches its lock, for holders on other hosts to see it alive. */
export const LOCK_RENEW_MS = 10_000;
/** A lock of another host untouched this long is stale (six renewals missed; clock skew). */
export const LOCK_STALE_MS = 60_000;

/** Who holds a lock. `host` is undefined in a lock of an older version (a bare pid). */
export interface LockOwner {
  readonly host: string | undefined;
  readonly pid: number;
  readonly instance: string;
}

/** Another process holds the token file. */
export class TokenFileLockedError extends Error {
  readonly owner: LockOwner;

  constructor(tokenFile: string, owner: LockOwner) {
    super(
      `Token file ${tokenFile} is in use by another monitor (pid ${owner.pid})` +
        `${owner.host === undefined ? '' : ` on host ${owner.host}`}: two monitors on one ` +
        `token file rotate each other's refresh token to death. Stop the other one, or give ` +
        `this one its own token file (B24_TOKEN_FILE) and its own authorization.`,
    );
    this.name = 'TokenFileLockedError';
    this.owner = owner;
  }
}

export interface TokenFileLock {
  readonly path: string;
  /** Removes the lock file if it is still this lock's, and stops renewing it. Idempotent. */
  release(): void;
}

/** Who this process is; tests pose as another host or pid. */
export interface LockIdentity {
  readonly host: string;
  readonly pid: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM'; // exists, another user's
  }
}

/** The owner a lock file names, or undefined when it names none (torn, empty, gone). */
function readOwner(path: string): { owner: LockOwner; touchedMs: number } | undefined {
  let text: string;
  let touchedMs: number;
  try {
    // one open for both: on a network file system, opening revalidates the cached attributes
    const fd = openSync(path, 'r');
    try {
      text = readFileSync(fd, 'utf8');
      touchedMs = fstatSync(fd).mtimeMs;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const bare = Number(text.trim());
  if (/^\d+$/.test(text.trim()) && Number.isSafeInteger(bare)) {
    return { owner: { host: undefined, pid: bare, instance: '' }, touchedMs };
  }
  try {
    const json: unknown = JSON.parse(text);
    if (typeof json !== 'object' || json === null) return undefined;
    const { host, pid, instance } = json as Record<string, unknown>;
    if (typeof host !== 'string' || typeof instance !== 'string') return undefined;
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
    return { owner: { host, pid, instance }, touchedMs };
  } catch {
    return undefined;
  }
}

/** Whether the owner still holds the lock, as far as this process can tell (see the top). */
function stillHeld(
  { owner, touchedMs }: { owner: LockOwner; touchedMs: number },
  me: LockIdentity,
  now: number,
): boolean {
  if (owner.host !== undefined && owner.host !== me.host) return now - touchedMs < LOCK_STALE_MS;
  return owner.pid !== me.pid && alive(owner.pid);
}

/**
 * Takes the lock of `tokenFile`, or throws TokenFileLockedError (naming the holder) or
 * TokenStoreError. A directory others can write to is refused first. The lock renews itself
 * (an unref'd timer) until released.
 */
export function lockTokenFile(
  tokenFile: string,
  me: LockIdentity = { host: hostname(), pid: process.pid },
): TokenFileLock {
  const dir = dirname(tokenFile);
  const path = join(dir, `.${basename(tokenFile)}.lock`);
  const instance = randomBytes(8).toString('hex');
  const mine = `${JSON.stringify({ host: me.host, pid: me.pid, instance })}\n`;
  checkTokenDirectory(tokenFile);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new TokenStoreError(
      `Token directory ${dir} cannot be created (${errnoCode(error)}): cannot create the ` +
        `directory of the token file. Make its parent a directory the monitor's user can write to.`,
      { cause: error, fsCode: errnoCode(error) },
    );
  }
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, mine);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST' || attempt > 0) {
        throw new TokenStoreError(
          `Lock file ${path} of the token file cannot be created (${errnoCode(error)}).`,
          { cause: error, fsCode: errnoCode(error) },
        );
      }
      const found = readOwner(path);
      if (found !== undefined && stillHeld(found, me, Date.now())) {
        throw new TokenFileLockedError(tokenFile, found.owner);
      }
      rmSync(path, { force: true });
    }
  }
  const isMine = (): boolean => {
    try {
      return readFileSync(path, 'utf8') === mine;
    } catch {
      return false;
    }
  };
  const renewal = setInterval(() => {
    // a lock taken over meanwhile (this process stalled past LOCK_STALE_MS) is not touched
    if (!isMine()) return clearInterval(renewal);
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // the next renewal tries again
    }
  }, LOCK_RENEW_MS);
  renewal.unref();
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      clearInterval(renewal);
      if (isMine()) rmSync(path, { force: true });
    },
  };
}
