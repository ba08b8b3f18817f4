/**
 * The sidecar `.<name>.pending` next to the token file. A durable write takes milliseconds
 * (hundreds when the disk is busy), and a process killed meanwhile would lose a pair the OAuth
 * server has already rotated. So each save first drops the pair here, synchronously and
 * without fsync (the page cache survives a killed process), and removes it once the token file
 * holds the pair. Only a sidecar this process's kind would write (a regular file of its user,
 * mode 0600) is ever read back: a planted one is removed.
 */
import { basename, dirname, join } from 'node:path';
import { parseSidecar } from './tokenFileFormat.js';
import { isOwnSidecar } from './tokenFileSafety.js';
import type { TokenPair } from './tokenStore.js';
import type { TokenStoreFs } from './tokenStoreFs.js';

export class PendingSidecar {
  /** `.<name>.pending` next to the token file. */
  readonly path: string;
  readonly #fs: TokenStoreFs;
  readonly #warn: ((message: string) => void) | undefined;

  constructor(tokenFile: string, fs: TokenStoreFs, warn: ((message: string) => void) | undefined) {
    this.path = join(dirname(tokenFile), `.${basename(tokenFile)}.pending`);
    this.#fs = fs;
    this.#warn = warn;
  }

  /** The sidecar's pair, or null when there is none or it is torn (then it is no use). */
  async read(): Promise<{ pair: TokenPair; mtimeMs: number } | null> {
    if (!isOwnSidecar(this.path)) {
      const planted = await this.#fs.stat(this.path).then(
        () => true,
        () => false,
      );
      if (planted) {
        // never this process's kind of file: of no use, and the next save would replace it
        await this.remove();
        this.#warn?.(
          `Sidecar ${this.path} ignored and removed: not a 0600 regular file of the monitor's user`,
        );
      }
      return null;
    }
    try {
      const text = await this.#fs.readFile(this.path, 'utf8');
      const { mtimeMs } = await this.#fs.stat(this.path);
      const pair = parseSidecar(text);
      return pair === null ? null : { pair, mtimeMs };
    } catch {
      return null;
    }
  }

  /** Drops the file's text here (no fsync). Best effort. */
  write(text: string): void {
    try {
      this.#fs.writeSidecarSync(this.path, text);
    } catch {
      // no directory yet, no space...: the durable write says what is wrong
    }
  }

  /** Best effort. */
  async remove(): Promise<void> {
    await this.#fs.unlink(this.path).catch(() => undefined);
  }
}
