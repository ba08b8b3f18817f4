/**
 * A durable, atomic replacement of the token file: a fresh temporary file next to it, fsync,
 * rename over the file, fsync of the directory. A failed write leaves the previous file as it
 * was; a process killed half-way leaves a temporary file, which the next start sweeps away.
 */
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { TokenStoreError } from './errors.js';
import { errnoCode } from './tokenFileSafety.js';
import type { TokenStoreFs } from './tokenStoreFs.js';

/** Temporary files of `writeAtomically`: `.<name>.<12 hex>.tmp` next to the file. */
function tempFilePattern(name: string): RegExp {
  return new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.[0-9a-f]{12}\\.tmp$`);
}

/**
 * Replaces `path` with `text`. Throws TokenStoreError naming the step that failed; the
 * previous file is then unchanged and no temporary file is left.
 */
export async function writeAtomically(fs: TokenStoreFs, path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let step = 'create the directory';
  let created = false;
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    step = 'write a temporary file';
    // `wx`: a fresh file with a fresh name, never someone else's file (or a symlink) reused.
    const handle = await fs.open(temp, 'wx', 0o600);
    created = true;
    try {
      await fs.write(handle, text);
      step = 'flush the temporary file';
      await handle.sync();
    } finally {
      await handle.close();
    }
    step = 'replace the token file';
    await fs.rename(temp, path);
    created = false;
  } catch (error) {
    if (created) await fs.unlink(temp).catch(() => undefined);
    const code = errnoCode(error);
    throw new TokenStoreError(
      `Token file ${path} could not be written: cannot ${step} (${code}). The previous ` +
        `file is unchanged. Make its directory writable by the monitor's user, with free space.`,
      { cause: error, fsCode: code },
    );
  }
  await syncDirectory(fs, dir);
}

/**
 * Makes the rename itself durable: without it a crash may bring the old file back. Best
 * effort: the new file is in place already, and some file systems cannot fsync a directory.
 */
async function syncDirectory(fs: TokenStoreFs, dir: string): Promise<void> {
  try {
    const handle = await fs.open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Nothing better to do: the write itself succeeded.
  }
}

/**
 * A process killed between creating its temporary file and the rename leaves that file
 * behind, a token pair in it. Removed at the first load (at start, before any write of this
 * process): a token file has one holder, so no other write can be in flight. Best effort.
 */
export async function sweepTempFiles(fs: TokenStoreFs, path: string): Promise<void> {
  const dir = dirname(path);
  const pattern = tempFilePattern(basename(path));
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (pattern.test(name)) await fs.unlink(join(dir, name)).catch(() => undefined);
  }
}
