/**
 * Who else can touch a token file. The file holds the only working refresh token: a directory
 * others can write to lets them replace it (or plant a `.pending` sidecar that the next start
 * would adopt), and a file others can read gives the portal away. (Two holders of one file are
 * kept apart by its lock: tokenFileLock.ts.)
 */
import { lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
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
