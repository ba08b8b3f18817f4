import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ApiError,
  AuthError,
  BadResponseError,
  NetworkError,
  TokenStoreError,
} from '../../src/b24/errors.js';
import { FileTokenStore } from '../../src/b24/fileTokenStore.js';
import type { TokenPair } from '../../src/b24/tokenStore.js';
import { TokenManager, type TokenManagerOptions } from '../../src/b24/tokens.js';
import {
  ACCESS_TOKEN,
  captureLogger,
  CLIENT_ID,
  CLIENT_SECRET,
  errorText,
  memoryStore,
  NEW_ACCESS_TOKEN,
  NEW_REFRESH_TOKEN,
  oauthAnswer,
  recordingObserver,
  REFRESH_TOKEN,
  SECRETS,
  type SeenRequest,
  sendJson,
  startServer,
  testAgent,
  type TestServer,
} from './helpers.js';

type OAuthScript = (req: SeenRequest, res: ServerResponse) => unknown;

let script: OAuthScript;
let server: TestServer;
const agent = testAgent();
let dir: string;

beforeAll(async () => {
  server = await startServer((req, res) => script(req, res));
});

afterAll(async () => {
  await server.close();
  await agent.close();
});

beforeEach(async () => {
  server.requests.length = 0;
  script = (_req, res) => sendJson(res, 200, oauthAnswer(NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN));
  dir = await mkdtemp(join(tmpdir(), 'b24-manager-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function manager(overrides: Partial<TokenManagerOptions> = {}) {
  const observer = recordingObserver();
  const logs = captureLogger();
  const tokens = new TokenManager({
    portal: 'test',
    store: memoryStore({ refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN }),
    oauth: { oauthUrl: server.oauthUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    observer,
    // As the composition root does: the manager's lines carry the child's `portal` only.
    logger: logs.logger.child({ portal: 'test' }),
    dispatcher: agent,
    timeouts: { headersMs: 2000, bodyMs: 2000, totalMs: 3000 },
    ...overrides,
  });
  return { tokens, observer, logs };
}

function expectNoSecrets(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe('TokenManager: loading', () => {
  it('prefers the pair in the file over the seed', async () => {
    const { tokens } = manager({
      store: memoryStore({ refreshToken: 'file-refresh-token', accessToken: 'file-access-token' }),
      seed: { refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN },
    });

    await expect(tokens.accessToken()).resolves.toBe('file-access-token');
  });

  it('uses the seed when there is no file', async () => {
    const { tokens } = manager({
      store: memoryStore(null),
      seed: { refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN },
    });

    await expect(tokens.accessToken()).resolves.toBe(ACCESS_TOKEN);
    expect(server.requests).toHaveLength(0);
  });

  it('refreshes first when there is only a refresh token', async () => {
    const { tokens } = manager({ store: memoryStore(null), seed: { refreshToken: REFRESH_TOKEN } });

    await expect(tokens.accessToken()).resolves.toBe(NEW_ACCESS_TOKEN);
    expect(server.oauth()).toHaveLength(1);
  });

  it('fails with an actionable AuthError when there is no refresh token at all', async () => {
    const { tokens } = manager({ store: memoryStore(null), seed: {} });

    const error = await tokens.accessToken().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).apiCode).toBe('NO_REFRESH_TOKEN');
    expect((error as AuthError).message).toMatch(/B24_REFRESH_TOKEN/);
  });
});

describe('TokenManager: refresh', () => {
  it('sends the documented GET and keeps the new pair', async () => {
    const { tokens, observer } = manager();

    const token = await tokens.refresh(ACCESS_TOKEN);

    expect(token).toBe(NEW_ACCESS_TOKEN);
    const [req] = server.oauth();
    expect(req?.method).toBe('GET');
    expect(req?.path).toBe('/oauth/token/');
    expect(Object.fromEntries(req?.query ?? [])).toEqual({
      grant_type: 'refresh_token',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      refresh_token: REFRESH_TOKEN,
    });
    await expect(tokens.accessToken()).resolves.toBe(NEW_ACCESS_TOKEN);
    expect(observer.refreshes).toEqual([true]);
  });

  it('writes the new pair to the file (0600) before handing out the new token', async () => {
    const path = join(dir, 'tokens.json');
    const store = new FileTokenStore(path);
    await store.save({ refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN });
    const fileAtSave: string[] = [];
    const { tokens } = manager({
      store: {
        path,
        load: () => store.load(),
        save: async (pair: TokenPair) => {
          await store.save(pair);
          fileAtSave.push(await readFile(path, 'utf8'));
        },
      },
    });

    const token = await tokens.refresh(ACCESS_TOKEN);

    expect(token).toBe(NEW_ACCESS_TOKEN);
    expect(fileAtSave).toHaveLength(1);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({
      refreshToken: NEW_REFRESH_TOKEN,
      accessToken: NEW_ACCESS_TOKEN,
      expiresAt: new Date(1_700_003_600_000).toISOString(),
    });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('hands out the new token only once the file holds it', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const inner = memoryStore({ refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN });
    const store = {
      path: inner.path,
      load: () => inner.load(),
      save: async (pair: TokenPair) => {
        await gate;
        await inner.save(pair);
      },
    };
    const { tokens } = manager({ store });

    const refreshing = tokens.refresh(ACCESS_TOKEN);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const during = await tokens.accessToken();
    release();
    const after = await refreshing;

    expect(during).toBe(ACCESS_TOKEN);
    expect(after).toBe(NEW_ACCESS_TOKEN);
    expect(inner.current()?.refreshToken).toBe(NEW_REFRESH_TOKEN);
  });

  it('shares one refresh among concurrent callers', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    script = async (_req, res) => {
      await gate;
      sendJson(res, 200, oauthAnswer(NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN));
    };
    const { tokens, observer } = manager();

    const waiting = Array.from({ length: 5 }, () => tokens.refresh(ACCESS_TOKEN));
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    const results = await Promise.all(waiting);

    expect(results).toEqual(Array(5).fill(NEW_ACCESS_TOKEN));
    expect(server.oauth()).toHaveLength(1);
    expect(observer.refreshes).toEqual([true]);
  });

  it('does not refresh again for a caller whose token was already replaced', async () => {
    const { tokens } = manager();
    await tokens.refresh(ACCESS_TOKEN);

    const token = await tokens.refresh(ACCESS_TOKEN);

    expect(token).toBe(NEW_ACCESS_TOKEN);
    expect(server.oauth()).toHaveLength(1);
  });

  it('uses the new refresh token for the next refresh', async () => {
    const { tokens } = manager();
    await tokens.refresh(ACCESS_TOKEN);
    script = (_req, res) =>
      sendJson(res, 200, oauthAnswer('access-3-xxxxxxxx', 'refresh-3-xxxxxxxx'));

    await tokens.refresh(NEW_ACCESS_TOKEN);

    expect(server.oauth().map((r) => r.query.get('refresh_token'))).toEqual([
      REFRESH_TOKEN,
      NEW_REFRESH_TOKEN,
    ]);
  });

  it('does not abort the refresh in flight when a waiting caller aborts', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    script = async (_req, res) => {
      await gate;
      sendJson(res, 200, oauthAnswer(NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN));
    };
    const store = memoryStore({ refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN });
    const { tokens } = manager({ store });
    const controller = new AbortController();

    const aborted = tokens.refresh(ACCESS_TOKEN, controller.signal);
    const other = tokens.refresh(ACCESS_TOKEN);
    await new Promise((resolve) => setTimeout(resolve, 30));
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'B24_ABORTED' });
    release();

    await expect(other).resolves.toBe(NEW_ACCESS_TOKEN);
    expect(store.current()?.refreshToken).toBe(NEW_REFRESH_TOKEN);
  });
});

describe('TokenManager: failures', () => {
  it.each([
    ['invalid_grant', /re-authorize the application on the portal/],
    ['invalid_client', /B24_CLIENT_ID and B24_CLIENT_SECRET/],
  ])('turns %s into an AuthError with reason auth and what to do', async (code, pattern) => {
    script = (_req, res) =>
      sendJson(res, 400, { error: code, error_description: `bad token ${REFRESH_TOKEN}` });
    const { tokens, observer, logs } = manager();

    const error = await tokens.refresh(ACCESS_TOKEN).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).reason).toBe('auth');
    expect((error as AuthError).apiCode).toBe(code);
    expect((error as AuthError).message).toMatch(pattern);
    expect((error as AuthError).message).toMatch(/B24_REFRESH_TOKEN or the token file/);
    expect(observer.refreshes).toEqual([false]);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({ level: 50, portal: 'test', code, reason: 'auth' }),
    );
    expectNoSecrets(errorText(error));
    expectNoSecrets(logs.raw.join('\n'));
  });

  it('turns PAYMENT_REQUIRED into reason payment, and sends the same refresh token again later', async () => {
    script = (_req, res) => sendJson(res, 402, { error: 'PAYMENT_REQUIRED' });
    const { tokens, logs } = manager();

    const error = await tokens.refresh(ACCESS_TOKEN).catch((e: unknown) => e);
    script = (_req, res) => sendJson(res, 200, oauthAnswer(NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN));
    const renewed = await tokens.refresh(ACCESS_TOKEN);

    expect(error).toBeInstanceOf(AuthError);
    expect(error).toMatchObject({ reason: 'payment', apiCode: 'PAYMENT_REQUIRED' });
    expect((error as AuthError).message).toMatch(/subscription has lapsed.*no new authorization/);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({
        level: 50,
        reason: 'payment',
        msg: "Token refresh refused: the application's subscription lapsed",
      }),
    );
    expect(renewed).toBe(NEW_ACCESS_TOKEN);
    expect(server.oauth().map((r) => r.query.get('refresh_token'))).toEqual([
      REFRESH_TOKEN,
      REFRESH_TOKEN,
    ]);
  });

  it('does not send a refused refresh token again, but picks up a new one from the file', async () => {
    script = (_req, res) => sendJson(res, 400, { error: 'invalid_grant' });
    const store = memoryStore({ refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN });
    const { tokens } = manager({ store });
    await expect(tokens.refresh(ACCESS_TOKEN)).rejects.toBeInstanceOf(AuthError);

    await expect(tokens.refresh(ACCESS_TOKEN)).rejects.toBeInstanceOf(AuthError);
    expect(server.oauth()).toHaveLength(1);

    await store.save({ refreshToken: 'operator-refresh-token' });
    script = (_req, res) => sendJson(res, 200, oauthAnswer(NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN));
    await expect(tokens.refresh(ACCESS_TOKEN)).resolves.toBe(NEW_ACCESS_TOKEN);
    expect(server.oauth().at(-1)?.query.get('refresh_token')).toBe('operator-refresh-token');
  });

  it.each([500, 502, 503])(
    'turns a %i of the token endpoint into a retryable ApiError',
    async (status) => {
      script = (_req, res) => {
        res.writeHead(status, { 'content-type': 'text/html' });
        res.end('<html>down</html>');
      };
      const { tokens, observer } = manager();

      const error = await tokens.refresh(ACCESS_TOKEN).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).apiCode).toBe(`HTTP_${status}`);
      expect((error as ApiError).reason).toBe('api_error');
      expect(observer.refreshes).toEqual([false]);
    },
  );

  it('turns a dropped connection into a NetworkError', async () => {
    script = (_req, res) => {
      res.socket?.destroy();
    };
    const { tokens } = manager();

    const error = await tokens.refresh(ACCESS_TOKEN).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).reason).toBe('network');
    expectNoSecrets(errorText(error));
  });

  it('turns an answer without tokens into a BadResponseError', async () => {
    script = (_req, res) => sendJson(res, 200, { access_token: NEW_ACCESS_TOKEN });
    const { tokens } = manager();

    const error = await tokens.refresh(ACCESS_TOKEN).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BadResponseError);
    expectNoSecrets(errorText(error));
  });
});

describe('TokenManager: token file write failures', () => {
  it('keeps the new pair in memory, logs, exposes persistError and writes again later', async () => {
    const inner = memoryStore({ refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN });
    let failing = true;
    const store = {
      path: '/data/portal.tokens.json',
      load: () => inner.load(),
      save: (pair: TokenPair) =>
        failing
          ? Promise.reject(
              new TokenStoreError('Token file could not be written', { fsCode: 'ENOSPC' }),
            )
          : inner.save(pair),
    };
    const { tokens, logs } = manager({ store });

    await expect(tokens.refresh(ACCESS_TOKEN)).resolves.toBe(NEW_ACCESS_TOKEN);
    await expect(tokens.accessToken()).resolves.toBe(NEW_ACCESS_TOKEN);

    expect(tokens.persistError?.fsCode).toBe('ENOSPC');
    const errors = logs.lines.filter((l) => l['level'] === 50);
    expect(errors).toEqual([
      expect.objectContaining({
        portal: 'test',
        path: '/data/portal.tokens.json',
        code: 'ENOSPC',
        msg: 'Token file could not be written; the new token pair is kept in memory only',
      }),
    ]);
    expect(inner.current()?.refreshToken).toBe(REFRESH_TOKEN);

    failing = false;
    await tokens.accessToken();

    expect(tokens.persistError).toBeUndefined();
    expect(inner.current()).toMatchObject({ refreshToken: NEW_REFRESH_TOKEN });
    expect(logs.lines.at(-1)).toMatchObject({ msg: 'Token file written again' });
    expectNoSecrets(logs.raw.join('\n'));
  });

  it('never lets an older pair overwrite a newer one', async () => {
    const inner = memoryStore({ refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN });
    let failures = 1;
    const store = {
      path: inner.path,
      load: () => inner.load(),
      save: async (pair: TokenPair) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (failures > 0) {
          failures -= 1;
          throw new TokenStoreError('no', { fsCode: 'EIO' });
        }
        await inner.save(pair);
      },
    };
    const { tokens } = manager({ store });
    await tokens.refresh(ACCESS_TOKEN);
    script = (_req, res) =>
      sendJson(res, 200, oauthAnswer('access-3-xxxxxxxx', 'refresh-3-xxxxxxxx'));

    await Promise.all([
      tokens.accessToken(),
      tokens.refresh(NEW_ACCESS_TOKEN),
      tokens.accessToken(),
    ]);

    expect(inner.current()?.refreshToken).toBe('refresh-3-xxxxxxxx');
    expect(inner.saved.map((p) => p.refreshToken)).not.toContain(REFRESH_TOKEN);
  });
});
