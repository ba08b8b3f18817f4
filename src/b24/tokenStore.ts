/**
 * The token file: where the rotating refresh token survives restarts. The refresh token rotates
 * on every refresh and the old one dies, so a torn or lost write locks the monitor out of the
 * portal until an administrator re-authorizes it: writes are atomic (temp file, fsync, rename,
 * fsync of the directory) and a failed write leaves the previous file as it was.
 *
 * That write takes milliseconds (hundreds when the disk is busy), and a process killed meanwhile
 * would lose a pair the OAuth server has already rotated. So each save first drops the pair in
 * a sidecar (`.<name>.pending`) synchronously and without fsync (the page cache survives a
 * killed process), and removes it once the token file holds the pair. A sidecar still there
 * at the next load holds the newest pair when it is newer than the token file: it is used,
 * and written properly — but only a sidecar this process's kind would write (a regular file of
 * its user, mode 0600), in a directory others cannot write to: a planted one is ignored.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { TokenStoreError } from './errors.js';
import {
  checkTokenDirectory,
  errnoCode,
  isOwnSidecar,
  tokenFileWarning,
} from './tokenFileSafety.js';

/** A token pair as the monitor holds it. */
export interface TokenPair {
  readonly refreshToken: string;
  readonly accessToken?: string | undefined;
  /** When the access token expires, Unix ms. */
  readonly expiresAt?: number | undefined;
}

/** What the TokenManager needs from a store (tests may pass an in-memory one). */
export interface TokenStore {
  /** Where the pair is kept, for log fields and messages. */
  readonly path: string;
  /** The stored pair, or null when there is none yet. Throws TokenStoreError when unusable. */
  load(): Promise<TokenPair | null>;
  /** Replaces the stored pair atomically. Throws TokenStoreError; the old pair then stays. */
  save(pair: TokenPair): Promise<void>;
  /**
   * Only a store shared by several holders (Redis) has it: runs the refresh under the store's
   * per-portal lock, or returns the newer pair another holder stored meanwhile (see
   * src/tokens/redisProtocol.ts). Undefined when the store cannot be reached before anything
   * was spent: the caller then refreshes on its own and saves later. Throws what `exchange`
   * throws, or TokenStoreError.
   */
  refreshShared?(
    held: TokenPair,
    refusedAccessToken: string | undefined,
    exchange: (refreshToken: string) => Promise<SharedRefresh['pair']>,
  ): Promise<SharedRefresh | undefined>;
}

/**
 * `fsCode` of a TokenStoreError from a shared store that is away and has said so in a log line
 * of its own: the token manager does not log each portal's failed write on top.
 */
export const STORE_UNREACHABLE = 'STORE_UNREACHABLE';

/** What a shared refresh gives: the pair to use, whether it was exchanged here, whether saved. */
export interface SharedRefresh {
  readonly pair: TokenPair & { readonly accessToken: string };
  readonly exchanged: boolean;
  readonly saved: boolean;
}

/** The file's content. Hand-written files may hold only `refreshToken`. */
const TokenFile = z.object({
  refreshToken: z.string().min(1),
  accessToken: z.string().min(1).optional(),
  /** ISO 8601. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  /** ISO 8601, when the monitor wrote the file. */
  savedAt: z.iso.datetime({ offset: true }).optional(),
});
type TokenFile = z.infer<typeof TokenFile>;

/** The file-system calls the store makes; tests replace one to simulate ENOSPC or EROFS. */
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

const nodeFs: TokenStoreFs = {
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

export interface FileTokenStoreOptions {
  /** @default node:fs/promises */
  readonly fs?: Partial<TokenStoreFs>;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** Told what is unsafe but not refused (a token file others can read), once, at first load. */
  readonly warn?: ((message: string) => void) | undefined;
}

const FIX_HINT =
  'Fix or delete the file and restart; without the file the monitor uses B24_REFRESH_TOKEN, ' +
  'and if that token was already used the application must be re-authorized on the portal.';

/** Temporary files of `save`: `.<name>.<12 hex>.tmp` next to the token file. */
function tempFilePattern(name: string): RegExp {
  return new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.[0-9a-f]{12}\\.tmp$`);
}

export class FileTokenStore implements TokenStore {
  readonly path: string;
  readonly #fs: TokenStoreFs;
  readonly #now: () => Date;
  readonly #warn: ((message: string) => void) | undefined;
  #swept = false;

  constructor(path: string, options: FileTokenStoreOptions = {}) {
    this.path = path;
    this.#fs = { ...nodeFs, ...options.fs };
    this.#now = options.now ?? (() => new Date());
    this.#warn = options.warn;
  }

  async load(): Promise<TokenPair | null> {
    // refused at every load: a directory others can write to is never trusted
    checkTokenDirectory(this.path);
    if (!this.#swept) {
      this.#swept = true;
      const warning = tokenFileWarning(this.path);
      if (warning !== undefined) this.#warn?.(warning);
      await this.#sweepTempFiles();
    }
    const stored = await this.#loadFile();
    const pending = await this.#loadPending();
    if (pending === null) return stored?.pair ?? null;
    // A save writes the sidecar, then the file: a file newer than the sidecar is from a later
    // save (or an operator). Equal times (file times tick coarsely) mean the same save, or a
    // sidecar written after the file: the sidecar wins, it is never older.
    if (stored !== null && stored.mtimeMs > pending.mtimeMs) {
      await this.#fs.unlink(this.#pendingPath).catch(() => undefined);
      return stored.pair;
    }
    // the process was killed between the sidecar and the rename: the sidecar is the newest
    // pair (the one in the file may already be dead); write it properly, best effort
    await this.save(pending.pair).catch(() => undefined);
    return pending.pair;
  }

  /** `.<name>.pending` next to the token file. */
  get #pendingPath(): string {
    return join(dirname(this.path), `.${basename(this.path)}.pending`);
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
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // No cause: JSON.parse quotes the text around the error, which may be a token.
      throw new TokenStoreError(`Token file ${this.path} is not valid JSON. ${FIX_HINT}`);
    }
    const parsed = TokenFile.safeParse(json);
    if (!parsed.success) {
      // Paths only: zod messages may quote the value, and the value may be a token.
      const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))];
      throw new TokenStoreError(
        `Token file ${this.path} does not hold a token pair: missing or invalid ` +
          `${fields.join(', ')} (expected {"refreshToken": "...", "accessToken"?: "...", ` +
          `"expiresAt"?: ISO date}). ${FIX_HINT}`,
      );
    }
    return { pair: pairOf(parsed.data), mtimeMs };
  }

  /** The sidecar's pair, or null when there is none or it is torn (then it is no use). */
  async #loadPending(): Promise<{ pair: TokenPair; mtimeMs: number } | null> {
    if (!isOwnSidecar(this.#pendingPath)) {
      const planted = await this.#fs.stat(this.#pendingPath).then(
        () => true,
        () => false,
      );
      if (planted) {
        // never this process's kind of file: of no use, and the next save would replace it
        await this.#fs.unlink(this.#pendingPath).catch(() => undefined);
        this.#warn?.(
          `Sidecar ${this.#pendingPath} ignored and removed: not a 0600 regular file of the monitor's user`,
        );
      }
      return null;
    }
    try {
      const text = await this.#fs.readFile(this.#pendingPath, 'utf8');
      const { mtimeMs } = await this.#fs.stat(this.#pendingPath);
      const parsed = TokenFile.safeParse(JSON.parse(text));
      return parsed.success ? { pair: pairOf(parsed.data), mtimeMs } : null;
    } catch {
      return null;
    }
  }

  /** The sidecar (no fsync: the page cache survives a killed process). Best effort. */
  #writePending(text: string): void {
    try {
      this.#fs.writeSidecarSync(this.#pendingPath, text);
    } catch {
      // no directory yet, no space...: the durable write below says what is wrong
    }
  }

  /**
   * A process killed between creating its temporary file and the rename leaves that file
   * behind, a token pair in it. The first load (at start, before any write of this process)
   * removes them: a token file has one holder, so no other write can be in flight. Best effort.
   */
  async #sweepTempFiles(): Promise<void> {
    const dir = dirname(this.path);
    const pattern = tempFilePattern(basename(this.path));
    const names = await this.#fs.readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      if (pattern.test(name)) await this.#fs.unlink(join(dir, name)).catch(() => undefined);
    }
  }

  async save(pair: TokenPair): Promise<void> {
    const file: TokenFile = {
      refreshToken: pair.refreshToken,
      ...(pair.accessToken === undefined ? {} : { accessToken: pair.accessToken }),
      ...(pair.expiresAt === undefined
        ? {}
        : { expiresAt: new Date(pair.expiresAt).toISOString() }),
      savedAt: this.#now().toISOString(),
    };
    const text = `${JSON.stringify(file, null, 2)}\n`;
    const dir = dirname(this.path);
    const temp = join(dir, `.${basename(this.path)}.${randomBytes(6).toString('hex')}.tmp`);
    let step = 'create the directory';
    let created = false;
    this.#writePending(text);
    try {
      await this.#fs.mkdir(dir, { recursive: true, mode: 0o700 });
      step = 'write a temporary file';
      // `wx`: a fresh file with a fresh name, never someone else's file (or a symlink) reused.
      const handle = await this.#fs.open(temp, 'wx', 0o600);
      created = true;
      try {
        await this.#fs.write(handle, text);
        step = 'flush the temporary file';
        await handle.sync();
      } finally {
        await handle.close();
      }
      step = 'replace the token file';
      await this.#fs.rename(temp, this.path);
      created = false;
    } catch (error) {
      if (created) await this.#fs.unlink(temp).catch(() => undefined);
      // a failed save leaves the directory as it was; the caller keeps the pair in memory
      await this.#fs.unlink(this.#pendingPath).catch(() => undefined);
      const code = errnoCode(error);
      throw new TokenStoreError(
        `Token file ${this.path} could not be written: cannot ${step} (${code}). The previous ` +
          `file is unchanged. Make its directory writable by the monitor's user, with free space.`,
        { cause: error, fsCode: code },
      );
    }
    await syncDirectory(this.#fs, dir);
    await this.#fs.unlink(this.#pendingPath).catch(() => undefined);
  }
}

function pairOf(file: TokenFile): TokenPair {
  return {
    refreshToken: file.refreshToken,
    accessToken: file.accessToken,
    expiresAt: file.expiresAt === undefined ? undefined : Date.parse(file.expiresAt),
  };
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
