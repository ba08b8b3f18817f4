/**
 * Who else can touch a token file. The file holds the only working refresh token: a directory
 * others can write to lets them replace it (or plant a `.pending` sidecar that the next start
 * would adopt), and a file others can read gives the portal away. And two monitors on one
 * file rotate each other's pair to death ("re-authorize" errors that flap): one holder only.
 */
import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TokenStoreError } from './errors.js';

/** The `code` of a failed file-system call (`ENOENT`, `EACCES`…), or `UNKNOWN`. */
export function errnoCode(error: unknown): string {
  return error instanceof Error && 'code' in error && typeof error.code === 'string'
    ? error.code
    : 'UNKNOWN';
}

/**
 * Refuses a token directory that others (not the owner, not the group) may write to. Throws
 * TokenStoreError; a directory that does not exist yet is fine (it is made 0700).
 */
export function checkTokenDirectory(tokenFile: string): void {
  const dir = dirname(tokenFile);
  let mode: number;
  try {
    mode = statSync(dir).mode;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw new TokenStoreError(`Token directory ${dir} cannot be read (${errnoCode(error)}).`, {
      cause: error,
      fsCode: errnoCode(error),
    });
  }
  if ((mode & 0o002) !== 0) {
    throw new TokenStoreError(
      `Token directory ${dir} is writable by others (mode ${(mode & 0o7777).toString(8)}): ` +
        `anyone could replace the token pair. Keep token files in a directory only the ` +
        `monitor's user can write to (chmod o-w, or e.g. chmod 700).`,
    );
  }
}

/** A reason to warn about the token file itself, or undefined. */
export function tokenFileWarning(tokenFile: string): string | undefined {
  try {
    const mode = statSync(tokenFile).mode;
    if ((mode & 0o044) !== 0) {
      return `Token file ${tokenFile} is readable by group or others (mode ${(mode & 0o777).toString(8)}): chmod 600 it`;
    }
  } catch {
    // no file yet: it is created 0600
  }
  return undefined;
}

/**
 * A sidecar is adopted only when it is what this process itself writes: a regular file (not a
 * symlink), owned by the process's user, mode 0600.
 */
export function isOwnSidecar(path: string): boolean {
  try {
    const stat = lstatSync(path);
    const uid = process.getuid?.();
    return (
      stat.isFile() && (uid === undefined || stat.uid === uid) && (stat.mode & 0o777) === 0o600
    );
  } catch {
    return false;
  }
}

/** Another process holds the token file. */
export class TokenFileLockedError extends Error {
  readonly pid: number;

  constructor(tokenFile: string, pid: number) {
    super(
      `Token file ${tokenFile} is in use by another monitor (pid ${pid}): two monitors on one ` +
        `token file rotate each other's refresh token to death. Stop the other one, or give ` +
        `this one its own token file (B24_TOKEN_FILE) and its own authorization.`,
    );
    this.name = 'TokenFileLockedError';
    this.pid = pid;
  }
}

export interface TokenFileLock {
  readonly path: string;
  /** Removes the lock file if it is still this process's. Idempotent, never throws. */
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM'; // exists, another user's
  }
}

/**
 * Takes `.<name>.lock` next to the token file: created with O_EXCL, holding the pid. A lock
 * whose pid is gone (a killed process), or is this very pid (a container restarted with the
 * same pid 1), is stale and taken over. A directory others can write to is refused first.
 * Throws TokenFileLockedError or TokenStoreError.
 */
export function lockTokenFile(tokenFile: string): TokenFileLock {
  const dir = dirname(tokenFile);
  const path = join(dir, `.${basename(tokenFile)}.lock`);
  const mine = `${process.pid}\n`;
  checkTokenDirectory(tokenFile);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new TokenStoreError(`Token directory ${dir} cannot be created (${errnoCode(error)}).`, {
      cause: error,
      fsCode: errnoCode(error),
    });
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
      let pid = NaN;
      try {
        pid = Number(readFileSync(path, 'utf8').trim());
      } catch {
        // unreadable or gone: stale
      }
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new TokenFileLockedError(tokenFile, pid);
      }
      rmSync(path, { force: true });
    }
  }
  let held = true;
  return {
    path,
    release() {
      if (!held) return;
      held = false;
      try {
        if (readFileSync(path, 'utf8') === mine) rmSync(path, { force: true });
      } catch {
        // gone already
      }
    },
  };
}
