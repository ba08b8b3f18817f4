/**
 * The token file: where the rotating refresh token survives restarts. The refresh token rotates
 * on every refresh and the old one dies, so a torn or lost write locks the monitor out of the
 * portal until an administrator re-authorizes it: writes are atomic (temp file, fsync, rename,
 * fsync of the directory) and a failed write leaves the previous file as it was.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { TokenStoreError } from './errors.js';

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
}

/** The file's content. Hand-written files may hold only `refreshToken`. */
export const TokenFile = z.object({
  refreshToken: z.string().min(1),
  accessToken: z.string().min(1).optional(),
  /** ISO 8601. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  /** ISO 8601, when the monitor wrote the file. */
  savedAt: z.iso.datetime({ offset: true }).optional(),
});
export type TokenFile = z.infer<typeof TokenFile>;

/** The file-system calls the store makes; tests replace one to simulate ENOSPC or EROFS. */
export interface TokenStoreFs {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
  open(path: string, flags: string, mode?: number): Promise<FileHandle>;
  write(handle: FileHandle, data: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

const nodeFs: TokenStoreFs = {
  readFile: (path, encoding) => fsp.readFile(path, encoding),
  mkdir: (path, options) => fsp.mkdir(path, options),
  open: (path, flags, mode) => fsp.open(path, flags, mode),
  write: (handle, data) => handle.writeFile(data, 'utf8'),
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
};

export interface FileTokenStoreOptions {
  /** @default node:fs/promises */
  readonly fs?: Partial<TokenStoreFs>;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

function errnoCode(error: unknown): string {
  return error instanceof Error && 'code' in error && typeof error.code === 'string'
    ? error.code
    : 'UNKNOWN';
}

const FIX_HINT =
  'Fix or delete the file and restart; without the file the monitor uses B24_REFRESH_TOKEN, ' +
  'and if that token was already used the application must be re-authorized on the portal.';

export class FileTokenStore implements TokenStore {
  readonly path: string;
  readonly #fs: TokenStoreFs;
  readonly #now: () => Date;

  constructor(path: string, options: FileTokenStoreOptions = {}) {
    this.path = path;
    this.#fs = { ...nodeFs, ...options.fs };
    this.#now = options.now ?? (() => new Date());
  }

  async load(): Promise<TokenPair | null> {
    let text: string;
    try {
      text = await this.#fs.readFile(this.path, 'utf8');
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
    const file = parsed.data;
    return {
      refreshToken: file.refreshToken,
      accessToken: file.accessToken,
      expiresAt: file.expiresAt === undefined ? undefined : Date.parse(file.expiresAt),
    };
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
    const dir = dirname(this.path);
    const temp = join(dir, `.${basename(this.path)}.${randomBytes(6).toString('hex')}.tmp`);
    let step = 'create the directory';
    let created = false;
    try {
      await this.#fs.mkdir(dir, { recursive: true, mode: 0o700 });
      step = 'write a temporary file';
      // `wx`: a fresh file with a fresh name, never someone else's file (or a symlink) reused.
      const handle = await this.#fs.open(temp, 'wx', 0o600);
      created = true;
      try {
        await this.#fs.write(handle, `${JSON.stringify(file, null, 2)}\n`);
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
      const code = errnoCode(error);
      throw new TokenStoreError(
        `Token file ${this.path} could not be written: cannot ${step} (${code}). The previous ` +
          `file is unchanged. Make its directory writable by the monitor's user, with free space.`,
        { cause: error, fsCode: code },
      );
    }
    await syncDirectory(this.#fs, dir);
  }
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
