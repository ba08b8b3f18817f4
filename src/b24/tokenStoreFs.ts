/** The file-system calls the token file store makes; tests replace one to simulate ENOSPC or EROFS. */
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';

export interface TokenStoreFs {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
  open(path: string, flags: string, mode?: number): Promise<FileHandle>;
  write(handle: FileHandle, data: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<{ readonly mtimeMs: number }>;
  /**
   * Writes the sidecar at once: synchronous, so that nothing else runs between the answer of
   * the OAuth server and this write (a fraction of a millisecond, once per refresh). Removes
   * whatever has the name first and creates the file anew (`wx`, 0600): never someone else's
   * file (or a symlink) reused.
   */
  writeSidecarSync(path: string, data: string): void;
}

export const nodeFs: TokenStoreFs = {
  readFile: (path, encoding) => fsp.readFile(path, encoding),
  mkdir: (path, options) => fsp.mkdir(path, options),
  open: (path, flags, mode) => fsp.open(path, flags, mode),
  write: (handle, data) => handle.writeFile(data, 'utf8'),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
  readdir: (path) => fsp.readdir(path),
  stat: (path) => fsp.stat(path),
  writeSidecarSync: (path, data) => {
    rmSync(path, { force: true });
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
  },
};
