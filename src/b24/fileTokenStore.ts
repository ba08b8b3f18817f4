/**
 * The token file: where the rotating refresh token survives restarts. The refresh token rotates
 * on every refresh and the old one dies, so a torn or lost write locks the monitor out of the
 * portal until an administrator re-authorizes it: writes are atomic (atomicWrite.ts), a failed
 * write leaves the previous file as it was, and a pair is dropped in a sidecar first
 * (pendingSidecar.ts) so that a process killed during the durable write does not lose it. The
 * sidecar, when newer than the token file at the next load, holds the newest pair: it is used,
 * and written properly. The directory must be one others cannot write to (tokenFileSafety.ts).
 */
import { TokenStoreError } from './errors.js';
import { sweepTempFiles, writeAtomically } from './atomicWrite.js';
import { PendingSidecar } from './pendingSidecar.js';
import { formatTokenFile, parseTokenFile } from './tokenFileFormat.js';
import { checkTokenDirectory, errnoCode, tokenFileWarning } from './tokenFileSafety.js';
import type { TokenPair, TokenStore } from './tokenStore.js';
import { nodeFs, type TokenStoreFs } from './tokenStoreFs.js';

export interface FileTokenStoreOptions {
  /** @default node:fs/promises */
  readonly fs?: Partial<TokenStoreFs>;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Told what is unsafe but not refused (a token file others can read), once, at first load. */
  readonly warn?: ((message: string) => void) | undefined;
}

export class FileTokenStore implements TokenStore {
  readonly path: string;
  readonly #fs: TokenStoreFs;
  readonly #now: () => Date;
  readonly #warn: ((message: string) => void) | undefined;
  readonly #pending: PendingSidecar;
  #swept = false;

  constructor(path: string, options: FileTokenStoreOptions = {}) {
    this.path = path;
    this.#fs = { ...nodeFs, ...options.fs };
    this.#now = options.now ?? (() => new Date());
    this.#warn = options.warn;
    this.#pending = new PendingSidecar(path, this.#fs, options.warn);
  }

  async load(): Promise<TokenPair | null> {
    // refused at every load: a directory others can write to is never trusted
    checkTokenDirectory(this.path);
    if (!this.#swept) {
      this.#swept = true;
      const warning = tokenFileWarning(this.path);
      if (warning !== undefined) this.#warn?.(warning);
      await sweepTempFiles(this.#fs, this.path);
    }
    const stored = await this.#loadFile();
    const pending = await this.#pending.read();
    if (pending === null) return stored?.pair ?? null;
    // A save writes the sidecar, then the file: a file newer than the sidecar is from a later
    // save (or an operator). Equal times (file times tick coarsely) mean the same save, or a
    // sidecar written after the file: the sidecar wins, it is never older.
    if (stored !== null && stored.mtimeMs > pending.mtimeMs) {
      await this.#pending.remove();
      return stored.pair;
    }
    // the process was killed between the sidecar and the rename: the sidecar is the newest
    // pair (the one in the file may already be dead); write it properly, best effort
    await this.save(pending.pair).catch(() => undefined);
    return pending.pair;
  }

  async #loadFile(): Promise<{ pair: TokenPair; mtimeMs: number } | null> {
    let text: string;
    let mtimeMs: number;
    try {
      text = await this.#fs.readFile(this.path, 'utf8');
      mtimeMs = (await this.#fs.stat(this.path)).mtimeMs;
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT') return null;
      throw new TokenStoreError(
        `Token file ${this.path} cannot be read (${code}). Give the monitor's user read and ` +
          `write access to it and to its directory.`,
        { cause: error, fsCode: code },
      );
    }
    return { pair: parseTokenFile(text, this.path), mtimeMs };
  }

  async save(pair: TokenPair): Promise<void> {
    const text = formatTokenFile(pair, this.#now());
    this.#pending.write(text);
    try {
      await writeAtomically(this.#fs, this.path, text);
    } catch (error) {
      // a failed save leaves the directory as it was; the caller keeps the pair in memory
      await this.#pending.remove();
      throw error;
    }
    await this.#pending.remove();
  }
}
