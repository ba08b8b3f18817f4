/**
 * Who holds a token file's lock, and whether it still does. A pid alone cannot tell holders
 * apart when containers share the volume: each container's process is pid 1. So an owner is
 * host name, pid and a random instance id, and it is judged by where it runs:
 * - on this host, another pid: held while that pid is alive;
 * - on this host, this pid: left by an earlier process that had the pid (a restarted
 *   container), or by this process itself: not held;
 * - on another host (another container or machine, whose pids mean nothing here): held while
 *   its holder renews it (the file's modification time); not held once untouched for
 *   LOCK_STALE_MS.
 */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { errnoCode } from './tokenFileSafety.js';

/** A lock of another host untouched this long is stale (six renewals missed; clock skew). */
export const LOCK_STALE_MS = 60_000;

/** Who holds a lock. `host` is undefined in a lock of an older version (a bare pid). */
export interface LockOwner {
  readonly host: string | undefined;
  readonly pid: number;
  readonly instance: string;
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
export function readOwner(path: string): { owner: LockOwner; touchedMs: number } | undefined {
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

/** Whether the owner still holds the lock, as far as this process can tell. */
export function stillHeld(
  { owner, touchedMs }: { owner: LockOwner; touchedMs: number },
  me: LockIdentity,
  now: number,
): boolean {
  if (owner.host !== undefined && owner.host !== me.host) return now - touchedMs < LOCK_STALE_MS;
  return owner.pid !== me.pid && alive(owner.pid);
}
