/**
 * A token file that cannot be read, does not parse, or whose directory cannot be written: each
 * gives one clear error (naming the file and what to do, never a token) and the last good pair
 * is kept — on disk (the file is never overwritten with less) and in memory (the daemon keeps
 * polling with the pair it holds, and writes it once the directory is fixed).
 */
import { writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TokenStoreError } from '../../src/b24/errors.js';
import { FileTokenStore } from '../../src/b24/fileTokenStore.js';
import type { TokenStoreFs } from '../../src/b24/tokenStoreFs.js';
import { TokenManager } from '../../src/b24/tokens.js';
import type { SimServer } from '../../src/sim/index.js';
import { type SimPortal } from '../../src/sim/index.js';
import { issuedSecrets, monitorFromEnv, startHarness, type Harness } from '../helpers/harness.js';
import { scanLogsForSecretsAfterAll } from '../helpers/leaks.js';
import { captureLogger } from '../helpers/logs.js';
import { jsonLines } from '../helpers/processes.js';
import { valueOf } from '../helpers/promText.js';
import {
  messagesOf,
  runMonitorCli,
  scanTextsForSecretsAfterAll,
  watchTokens,
  type TokenIssue,
} from './support.js';
import { portalEnv, startAcme } from '../helpers/env.js';

const errorMessages: string[] = [];
scanLogsForSecretsAfterAll();
scanTextsForSecretsAfterAll(errorMessages, () => [portal.clientSecret]);

let sim: SimServer;
let portal: SimPortal;
let dir: string;
const issues: TokenIssue[] = [];
let harness: Harness | undefined;

beforeAll(async () => {
  ({ sim, portal } = await startAcme({ queued: 4 }));
  watchTokens(sim, (issue) => issues.push(issue));
  dir = await mkdtemp(join(tmpdir(), 'b24-tokenfile-'));
});

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

function seedPair(): { refreshToken: string; accessToken: string } {
  const pair = portal.authorize('monitor');
  issuedSecrets.add(pair.refreshToken).add(pair.accessToken);
  return pair;
}

function cliEnv(tokenFile: string, refreshToken: string): Record<string, string> {
  return portalEnv(sim, portal, { refreshToken, tokenFile, name: 'acme' });
}

function fsError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

/**
 * `once` with this token file: through the CLI as a process (its exit code, its JSON and its
 * stderr), or in-process as the CLI builds the monitor (the report and the log lines), where
 * the process would add nothing but its start-up.
 */
async function onceWith(
  tokenFile: string,
  refreshToken: string,
  via: 'process' | 'in-process',
): Promise<{ code?: number | null; message?: string; failures: Record<string, unknown>[] }> {
  const isPoll = (line: Record<string, unknown>) => String(line['msg']).startsWith('Poll');
  if (via === 'process') {
    const run = await runMonitorCli(['once', '--json'], cliEnv(tokenFile, refreshToken));
    const [result] = JSON.parse(run.stdout) as { error?: { message: string } }[];
    return {
      code: run.code,
      message: result?.error?.message,
      failures: jsonLines(run.stderr).filter(isPoll),
    };
  }
  const log = captureLogger('warn');
  const dispatcher = new Agent({ keepAliveTimeout: 10 });
  const monitor = monitorFromEnv(cliEnv(tokenFile, refreshToken), {
    logger: log.logger,
    dispatcher,
  });
  const [report] = await monitor.pollOnce();
  await monitor.settle();
  await monitor.close();
  await dispatcher.close();
  return { message: report?.error?.message, failures: log.lines.filter(isPoll) };
}

describe('a token file that cannot be used, at start', () => {
  it.each([
    {
      what: 'is not JSON (hand-edited)',
      make: async (path: string, token: string) => writeFile(path, `refreshToken=${token}\n`),
      says: /is not valid JSON\. Fix or delete the file and restart/,
      fsCode: undefined,
      via: 'process' as const,
    },
    {
      what: 'holds no refresh token',
      make: async (path: string, token: string) =>
        writeFile(path, JSON.stringify({ accessToken: token, refreshToken: 42 })),
      says: /does not hold a token pair: missing or invalid refreshToken/,
      fsCode: undefined,
      via: 'in-process' as const,
    },
    {
      // tests run as root, for whom no mode bit denies reading: a directory in its place
      what: 'cannot be read (a directory in its place)',
      make: async (path: string) => mkdir(path),
      says: /cannot be read \(EISDIR\)\. Give the monitor's user read and write access/,
      fsCode: 'EISDIR',
      via: 'in-process' as const,
    },
  ])('$what ($via): one clear error naming the file, no token, nothing overwritten', async (c) => {
    const pair = seedPair();
    const made = join(dir, `start-${Math.random().toString(36).slice(2)}`);
    await c.make(made, pair.refreshToken);
    const before = await stat(made);
    const tokenFile = 'file' in c ? join(made, String(c.file)) : made;
    const refreshes = issues.length;

    const { code, message, failures } = await onceWith(tokenFile, pair.refreshToken, c.via);

    if (c.via === 'process') expect(code).toBe(1);
    expect(message).toContain(tokenFile);
    expect(message).toMatch(c.says);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ level: 'error', code: 'B24_TOKEN_STORE' });
    expect(String(failures[0]?.['error'])).toContain(tokenFile);
    // the file is left for the operator to fix, and the seed is not burnt behind their back
    expect((await stat(made)).mtimeMs).toBe(before.mtimeMs);
    expect(issues.length).toBe(refreshes);
  });

  // A token file that cannot be read or parsed is not a reason to re-authorize (that needs an
  // administrator, and the pair in the file is likely fine): the advice points at the file.
  it('a token file problem does not tell the operator to re-authorize', async () => {
    const pair = seedPair();
    const tokenFile = join(dir, 'advice.tokens.json');
    await writeFile(tokenFile, '{"refreshToken": ');

    const {
      failures: [line],
    } = await onceWith(tokenFile, pair.refreshToken, 'in-process');

    expect(line?.['code']).toBe('B24_TOKEN_STORE');
    expect(`${String(line?.['msg'])} ${String(line?.['action'])}`).not.toMatch(
      /re-authorized|not authorized/,
    );
  });
});

describe('a token directory that cannot be written', () => {
  it('the daemon keeps the new pair in memory, says so once, counts it, and writes it once fixed', async () => {
    harness = await startHarness({ refreshOnly: true, portal: { events: ['ONCRMLEADADD'] } });
    const h = harness;
    let latest = '';
    watchTokens(h.sim, (issue) => (latest = issue.refreshToken ?? latest));
    h.portal.fill({ counts: { ONCRMLEADADD: { queued: 3 } } });
    const [first] = await h.monitor.pollOnce(); // refreshes and writes the file
    const tokenDir = dirname(h.tokenFile);
    const away = `${tokenDir}.away`;
    // the directory goes away and a regular file takes its place: nothing can be written there
    await rename(tokenDir, away);
    await writeFile(tokenDir, 'not a directory');

    h.portal.expireAccessTokens();
    const [second] = await h.monitor.pollOnce();
    h.portal.expireAccessTokens();
    const [third] = await h.monitor.pollOnce();
    const samples = await h.scrape();

    // each refresh's pair is used (and the next refresh uses its refresh token): polls work
    expect([first, second, third].map((r) => r?.error?.message ?? 'ok')).toEqual([
      'ok',
      'ok',
      'ok',
    ]);
    const lines = h.log.find(
      'Token file could not be written; the new token pair is kept in memory only',
    );
    expect(lines).toHaveLength(1); // not repeated while the cause is the same
    expect(lines[0]).toMatchObject({ level: 'error', portal: 'portal', path: h.tokenFile });
    expect(String(lines[0]?.['error'])).toMatch(
      /could not be written: cannot create the directory \((EEXIST|ENOTDIR)\)\. The previous file is unchanged\. Make its directory writable/,
    );
    // every failed write counts (two refreshes, plus the retry of the write at the next use)
    expect(
      valueOf(samples, 'b24_offline_token_file_write_failures_total', { portal: 'portal' }),
    ).toBeGreaterThanOrEqual(2);

    await rm(tokenDir);
    await rename(away, tokenDir);
    const [fourth] = await h.monitor.pollOnce();

    expect(fourth?.ok).toBe(true);
    expect(h.log.find('Token file written again')).toHaveLength(1);
    const stored = JSON.parse(await readFile(h.tokenFile, 'utf8')) as { refreshToken: string };
    expect(stored.refreshToken).toBe(latest); // the pair the OAuth server issued last
    expect((await stat(h.tokenFile)).mode & 0o777).toBe(0o600);
  });

  it.each([
    ['write', 'ENOSPC', 'write a temporary file'],
    ['rename', 'EROFS', 'replace the token file'],
    ['open', 'EACCES', 'write a temporary file'],
  ] as const)(
    '%s failing with %s: the old file stays, the new pair works, the error says what to do',
    async (call, code, step) => {
      const pair = seedPair();
      const path = join(dir, `fs-${code}.tokens.json`);
      const old = `${JSON.stringify({ refreshToken: pair.refreshToken })}\n`;
      await writeFile(path, old, { mode: 0o600 });
      let failing = true;
      const real = new FileTokenStore(path);
      const store = new FileTokenStore(path, { fs: failingFs(call, code, () => failing) });
      const log = captureLogger();
      const dispatcher = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
      const tokens = new TokenManager({
        portal: 'acme',
        store,
        oauth: {
          oauthUrl: sim.oauthUrl,
          clientId: portal.clientId,
          clientSecret: portal.clientSecret,
        },
        observer: { refresh: () => undefined },
        logger: log.logger,
        dispatcher,
      });

      const access = await tokens.accessToken(); // only a refresh token: refreshes first
      const answer = await fetch(`${portal.restUrl}feature.get`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ CODE: 'rest_offline_extended', auth: access }),
      });

      expect(answer.status).toBe(200); // the new pair is in use
      expect(await readFile(path, 'utf8')).toBe(old); // the last good file, untouched
      expect(tokens.persistError).toBeInstanceOf(TokenStoreError);
      expect(tokens.persistError?.fsCode).toBe(code);
      const message = tokens.persistError?.message ?? '';
      errorMessages.push(...messagesOf(tokens.persistError));
      expect(message).toContain(path);
      expect(message).toContain(`cannot ${step} (${code})`);
      expect(message).toMatch(/previous file is unchanged.*Make its directory writable/);
      const [line] = log.find(
        'Token file could not be written; the new token pair is kept in memory only',
      );
      expect(line).toMatchObject({ level: 'error', path, code });

      failing = false;
      await tokens.accessToken(); // the next use writes it again

      expect(tokens.persistError).toBeUndefined();
      expect((await real.load())?.accessToken).toBe(access);
      expect(log.find('Token file written again')).toHaveLength(1);
      await dispatcher.close();
    },
  );

  it('a read that fails (EACCES) names the file and what to do, and does not fall back to the seed', async () => {
    const pair = seedPair();
    const path = join(dir, 'eacces.tokens.json');
    await writeFile(path, JSON.stringify({ refreshToken: pair.refreshToken }));
    const store = new FileTokenStore(path, {
      fs: { readFile: () => Promise.reject(fsError('EACCES')) },
    });
    const refreshes = issues.length;
    const tokens = new TokenManager({
      portal: 'acme',
      store,
      seed: { refreshToken: pair.refreshToken },
      oauth: { oauthUrl: sim.oauthUrl, clientId: portal.clientId, clientSecret: 'unused-secret' },
      observer: { refresh: () => undefined },
      logger: pino({ level: 'silent' }),
    });

    const error = await tokens.accessToken().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TokenStoreError);
    errorMessages.push(...messagesOf(error));
    expect((error as TokenStoreError).message).toBe(
      `Token file ${path} cannot be read (EACCES). Give the monitor's user read and write ` +
        'access to it and to its directory.',
    );
    expect(issues.length).toBe(refreshes);
  });
});

/** A file in /sys: reading it says ENOENT, and nobody (root included) can create files there. */
function unwritableTokenFile(): string {
  return `/sys/b24-hardening-${process.pid}-${Math.random().toString(36).slice(2)}.tokens.json`;
}

describe('`once` with a token directory that cannot be written', () => {
  // The token file's lock is taken before anything reads the file or refreshes: a directory
  // that cannot take the lock cannot take a rotated pair either, so the run stops at start
  // (exit 2) with the seed refresh token unused, instead of rotating it into a pair that
  // dies with the process.
  it.each([
    { what: 'cannot be written', tokenFile: () => unwritableTokenFile() },
    {
      what: 'is a regular file (ENOTDIR)',
      tokenFile: () => {
        const file = join(dir, `plain-${Math.random().toString(36).slice(2)}`);
        writeFileSync(file, 'a regular file, not a directory');
        return join(file, 'tokens.json');
      },
    },
  ])('refuses to start when the token directory $what; the seed stays usable', async (c) => {
    const pair = seedPair();
    const refreshes = issues.length;
    const tokenFile = c.tokenFile();

    const refused = await runMonitorCli(['once', '--json'], cliEnv(tokenFile, pair.refreshToken));
    // the seed still works: a poll with it and a good token file (in-process, as the CLI builds it)
    const log = captureLogger();
    const dispatcher = new Agent({ keepAliveTimeout: 10 });
    const monitor = monitorFromEnv(
      cliEnv(join(dir, `ok-${Math.random().toString(36).slice(2)}.json`), pair.refreshToken),
      { logger: log.logger, dispatcher },
    );
    const [retried] = await monitor.pollOnce();
    await monitor.settle();
    await monitor.close();
    await dispatcher.close();

    // 2, not 0: the run with a token file it could not have saved fails (a cron job must not
    // see success); the lock, taken first, stops it before any refresh.
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(
      /Lock file .* of the token file cannot be created \(E[A-Z]+\)|Token directory .* cannot be created/,
    );
    expect(issues.length).toBe(refreshes + 1); // only the retried run refreshed
    expect(retried?.ok).toBe(true);
  });
});

describe('a write killed half-way', () => {
  async function freshDir(): Promise<{ sub: string; path: string; pending: string }> {
    const sub = await mkdtemp(join(dir, 'killed-'));
    return {
      sub,
      path: join(sub, 'acme.tokens.json'),
      pending: join(sub, '.acme.tokens.json.pending'),
    };
  }

  it('leaves the new pair in a sidecar before the slow durable write; the next load uses it', async () => {
    const { sub, path } = await freshDir();
    await writeFile(
      path,
      JSON.stringify({ refreshToken: 'old-refresh-token-dead-after-rotation' }),
    );
    // the process "dies" in the durable write: the rename over the token file never happens,
    // and no clean-up code runs
    let renaming = (): void => undefined;
    const renameReached = new Promise<void>((resolve) => (renaming = resolve));
    const dying = new FileTokenStore(path, {
      fs: {
        rename: () => {
          renaming();
          return new Promise(() => undefined);
        },
      },
    });
    // never settles (the rename hangs): nothing to await or catch
    dying
      .save({ refreshToken: 'new-refresh-token-0123456789', accessToken: 'new-access-1' })
      .catch(() => undefined);
    // the death comes at the rename (not after a fixed 50 ms, too short on a loaded machine)
    await renameReached;

    const pair = await new FileTokenStore(path).load();

    expect(pair).toMatchObject({ refreshToken: 'new-refresh-token-0123456789' });
    // promoted: the token file holds it, the sidecar and the temporary file are gone
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({
      refreshToken: 'new-refresh-token-0123456789',
      accessToken: 'new-access-1',
    });
    expect(await fsp.readdir(sub)).toEqual(['acme.tokens.json']);
  });

  it('ignores (and removes) a sidecar older than the token file, or torn', async () => {
    for (const sidecar of ['older', 'torn'] as const) {
      const { sub, path, pending } = await freshDir();
      await writeFile(
        pending,
        sidecar === 'torn'
          ? '{"refreshToken": "new-ref'
          : '{"refreshToken": "older-refresh-token"}',
        { mode: 0o600 }, // as the monitor writes it: a sidecar of another kind is never adopted
      );
      await writeFile(path, JSON.stringify({ refreshToken: 'current-refresh-token' }));
      if (sidecar === 'older') await fsp.utimes(pending, new Date(1_000), new Date(1_000));
      else await fsp.utimes(path, new Date(1_000), new Date(1_000));

      const pair = await new FileTokenStore(path).load();

      expect(pair, sidecar).toMatchObject({ refreshToken: 'current-refresh-token' });
      expect(await fsp.readdir(sub), sidecar).toEqual(
        sidecar === 'older'
          ? ['acme.tokens.json']
          : ['.acme.tokens.json.pending', 'acme.tokens.json'],
      );
    }
  });

  it('temporary files are removed at the first load; other files are left alone', async () => {
    const sub = await mkdtemp(join(dir, 'sweep-'));
    const path = join(sub, 'acme.tokens.json');
    const left = ['.acme.tokens.json.0123456789ab.tmp', '.acme.tokens.json.ba9876543210.tmp'];
    const kept = ['acme.tokens.json', '.other.tokens.json.0123456789ab.tmp', 'notes.txt'];
    for (const name of [...left, ...kept]) {
      await writeFile(join(sub, name), JSON.stringify({ refreshToken: 'r'.repeat(32) }));
    }

    await new FileTokenStore(path).load();

    expect((await fsp.readdir(sub)).sort()).toEqual([...kept].sort());
  });
});

describe('a token file damaged while the daemon runs', () => {
  it('keeps polling with the pair in memory and writes a good file at the next refresh', async () => {
    harness = await startHarness({ refreshOnly: true, portal: { events: ['ONCRMLEADADD'] } });
    watchTokens(harness.sim);
    harness.portal.fill({ counts: { ONCRMLEADADD: { queued: 2 } } });
    const [first] = await harness.monitor.pollOnce();
    await writeFile(harness.tokenFile, '\u0000\u0000garbage');

    const [second] = await harness.monitor.pollOnce();
    harness.portal.expireAccessTokens();
    const [third] = await harness.monitor.pollOnce();

    expect([first?.ok, second?.ok, third?.ok]).toEqual([true, true, true]);
    const stored = JSON.parse(await readFile(harness.tokenFile, 'utf8')) as {
      refreshToken?: unknown;
    };
    expect(typeof stored.refreshToken).toBe('string');
    expect(harness.log.lines.filter((l) => l.level === 'error')).toEqual([]);
  });
});

/** A file system whose `call` fails with `code` while `failing()` says so. */
function failingFs(
  call: 'open' | 'rename' | 'write',
  code: string,
  failing: () => boolean,
): Partial<TokenStoreFs> {
  const fail = () => Promise.reject(fsError(code));
  switch (call) {
    case 'open':
      return { open: (path, flags, mode) => (failing() ? fail() : fsp.open(path, flags, mode)) };
    case 'rename':
      return { rename: (from, to) => (failing() ? fail() : fsp.rename(from, to)) };
    case 'write':
      return { write: (handle, data) => (failing() ? fail() : handle.writeFile(data, 'utf8')) };
  }
}
