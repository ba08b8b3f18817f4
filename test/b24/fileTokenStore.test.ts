import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenStoreError } from '../../src/b24/errors.js';
import { FileTokenStore } from '../../src/b24/fileTokenStore.js';
import { errorText, NEW_REFRESH_TOKEN, REFRESH_TOKEN, ACCESS_TOKEN } from './helpers.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'b24-tokens-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fsError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

describe('FileTokenStore', () => {
  it('returns null when there is no file', async () => {
    const store = new FileTokenStore(join(dir, 'none.json'));

    await expect(store.load()).resolves.toBeNull();
  });

  it('saves and loads a pair, in a 0600 file inside a 0700 directory it creates', async () => {
    const path = join(dir, 'nested', 'portal.tokens.json');
    const store = new FileTokenStore(path, { now: () => new Date('2024-07-18T10:00:00Z') });

    await store.save({
      refreshToken: REFRESH_TOKEN,
      accessToken: ACCESS_TOKEN,
      expiresAt: 1_721_300_400_000,
    });

    expect(await store.load()).toEqual({
      refreshToken: REFRESH_TOKEN,
      accessToken: ACCESS_TOKEN,
      expiresAt: 1_721_300_400_000,
    });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      refreshToken: REFRESH_TOKEN,
      accessToken: ACCESS_TOKEN,
      expiresAt: '2024-07-18T11:00:00.000Z',
      savedAt: '2024-07-18T10:00:00.000Z',
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'nested'))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(dir, 'nested'))).toEqual(['portal.tokens.json']);
  });

  it('reads a hand-written file with only a refresh token', async () => {
    const path = join(dir, 't.json');
    await writeFile(path, JSON.stringify({ refreshToken: REFRESH_TOKEN }));

    const pair = await new FileTokenStore(path).load();

    expect(pair).toEqual({
      refreshToken: REFRESH_TOKEN,
      accessToken: undefined,
      expiresAt: undefined,
    });
  });

  it('writes a complete temp file (0600) next to the target and renames it over', async () => {
    const path = join(dir, 't.json');
    await writeFile(path, JSON.stringify({ refreshToken: REFRESH_TOKEN }));
    const seen: { from: string; to: string; mode: number; content: string; target: string }[] = [];
    const store = new FileTokenStore(path, {
      fs: {
        rename: async (from, to) => {
          seen.push({
            from,
            to,
            mode: (await stat(from)).mode & 0o777,
            content: await readFile(from, 'utf8'),
            target: await readFile(to, 'utf8'),
          });
          const { rename } = await import('node:fs/promises');
          await rename(from, to);
        },
      },
    });

    await store.save({ refreshToken: NEW_REFRESH_TOKEN });

    expect(seen).toHaveLength(1);
    const [step] = seen;
    expect(step?.from.startsWith(join(dir, '.t.json.'))).toBe(true);
    expect(step?.to).toBe(path);
    expect(step?.mode).toBe(0o600);
    expect(JSON.parse(step?.content ?? '')).toMatchObject({ refreshToken: NEW_REFRESH_TOKEN });
    expect(step?.target).toContain(REFRESH_TOKEN);
    expect(await readdir(dir)).toEqual(['t.json']);
  });

  it.each([
    ['not JSON', `{"refreshToken": "${REFRESH_TOKEN}"`, /not valid JSON/],
    ['a wrong shape', JSON.stringify({ refreshToken: 42, accessToken: '' }), /refreshToken/],
    [
      'a wrong expiresAt',
      JSON.stringify({ refreshToken: REFRESH_TOKEN, expiresAt: REFRESH_TOKEN }),
      /expiresAt/,
    ],
    ['an array', JSON.stringify([REFRESH_TOKEN]), /does not hold a token pair/],
  ])(
    'refuses a file with %s, naming the path and the fix but no token',
    async (_what, content, pattern) => {
      const path = join(dir, 't.json');
      await writeFile(path, content);

      const error = await new FileTokenStore(path).load().catch((e: unknown) => e);

      expect(error).toBeInstanceOf(TokenStoreError);
      expect((error as TokenStoreError).message).toMatch(pattern);
      expect((error as TokenStoreError).message).toContain(path);
      expect((error as TokenStoreError).message).toMatch(/B24_REFRESH_TOKEN/);
      expect((error as TokenStoreError).reason).toBe('auth');
      expect(errorText(error)).not.toContain(REFRESH_TOKEN);
    },
  );

  it('refuses an unreadable file (a directory in its place)', async () => {
    const inPlace = join(dir, 'in-place');
    await mkdir(inPlace);
    const error = await new FileTokenStore(inPlace).load().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenStoreError);
    expect((error as TokenStoreError).fsCode).toBe('EISDIR');
    expect((error as TokenStoreError).message).toContain('EISDIR');
  });

  it('fails to save under a regular file (ENOTDIR) with a clear error', async () => {
    const blocker = join(dir, 'file');
    await writeFile(blocker, 'x');
    const store = new FileTokenStore(join(blocker, 'sub', 't.json'));

    const error = await store.save({ refreshToken: NEW_REFRESH_TOKEN }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenStoreError);
    expect((error as TokenStoreError).fsCode).toBe('ENOTDIR');
    expect((error as TokenStoreError).message).toMatch(
      /could not be written: cannot create the directory \(ENOTDIR\)/,
    );
    expect(errorText(error)).not.toContain(NEW_REFRESH_TOKEN);
  });

  it.each([
    ['write', 'ENOSPC', 'write a temporary file'],
    ['rename', 'EROFS', 'replace the token file'],
    ['rename', 'EACCES', 'replace the token file'],
  ] as const)('keeps the old file intact when %s fails with %s', async (call, code, step) => {
    const path = join(dir, 't.json');
    const old = JSON.stringify({ refreshToken: REFRESH_TOKEN });
    await writeFile(path, old);
    const store = new FileTokenStore(path, { fs: { [call]: () => Promise.reject(fsError(code)) } });

    const error = await store.save({ refreshToken: NEW_REFRESH_TOKEN }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenStoreError);
    expect((error as TokenStoreError).fsCode).toBe(code);
    expect((error as TokenStoreError).message).toContain(`cannot ${step} (${code})`);
    expect((error as TokenStoreError).message).toContain('previous file is unchanged');
    expect(await readFile(path, 'utf8')).toBe(old);
    expect(await readdir(dir)).toEqual(['t.json']);
  });
});
