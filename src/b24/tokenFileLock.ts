/**
 * One holder per token file: two monitors (or `auth` and a running monitor) on one file rotate
 * each other's refresh token to death. The lock is `.<name>.lock` next to the token file,
 * created exclusively, holding its owner as one JSON line: host name, pid and a random
 * instance id.
 *
 * A lock found at start is judged by where its owner runs (lockOwner.ts): containers sharing
 * the volume are all pid 1. A holder renews its lock every LOCK_RENEW_MS, for holders on
 * other hosts to see it alive. The instance id makes release and renewal act only on the lock
 * this very call took.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { TokenStoreError } from './errors.js';
import { type LockIdentity, type LockOwner, readOwner, stillHeld } from './lockOwner.js';
import { checkTokenDirectory, errnoCode } from './tokenFileSafety.js';

/** How often a holder touches its lock, for holders on other hosts to see it alive. */
export const LOCK_RENEW_MS = 10_000;

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
