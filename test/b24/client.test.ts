import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRestClient, type RestClientOptions } from '../../src/b24/client.js';
import type { Clock } from '../../src/b24/clock.js';
import {
  AbortedError,
  AuthError,
  BadResponseError,
  BatchLengthError,
  ForbiddenMethodError,
  NetworkError,
  TimeoutError,
} from '../../src/b24/errors.js';
import { RateLimiter } from '../../src/b24/rateLimiter.js';
import { FileTokenStore } from '../../src/b24/fileTokenStore.js';
import type { TokenStore } from '../../src/b24/tokenStore.js';
import { TokenManager } from '../../src/b24/tokens.js';
import type { BatchCommand, ReadOnlyMethod } from '../../src/b24/types.js';
import {
  ACCESS_TOKEN,
  captureLogger,
  CLIENT_ID,
  CLIENT_SECRET,
  errorText,
  fakeClock,
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

type Script = (req: SeenRequest, res: ServerResponse) => unknown;

const START = 1_700_000_000_000;
const TIME = {
  start: 1,
  finish: 2,
  duration: 1,
  processing: 0.5,
  operating: 3.5,
  operating_reset_at: START / 1000 + 600,
};

let server: TestServer;
let rest: Script;
let oauth: Script;
const agent = testAgent();

beforeAll(async () => {
  server = await startServer((req, res) =>
    req.path.startsWith('/oauth/') ? oauth(req, res) : rest(req, res),
  );
});

afterAll(async () => {
  await server.close();
  await agent.close();
});

beforeEach(() => {
  server.requests.length = 0;
  rest = (_req, res) => sendJson(res, 200, { result: [], total: 0, time: TIME });
  oauth = (_req, res) => sendJson(res, 200, oauthAnswer(NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN));
});

/** Answers in order; the last one repeats. */
function sequence(...answers: Script[]): Script {
  let i = 0;
  return (req, res) => {
    const answer = answers[Math.min(i, answers.length - 1)];
    i += 1;
    return answer?.(req, res);
  };
}

function json(status: number, body: unknown): Script {
  return (_req, res) => sendJson(res, status, body);
}

/** Answers by the access token the request carries. */
function byToken(answers: Record<string, Script>): Script {
  return (req, res) => {
    const answer = answers[String(req.json?.['auth'])] ?? json(401, { error: 'NO_AUTH_FOUND' });
    return answer(req, res);
  };
}

interface Setup {
  readonly store?: TokenStore;
  readonly clock?: Clock & { readonly sleeps?: number[] };
  readonly client?: Partial<RestClientOptions>;
}

function setup(options: Setup = {}) {
  const clock = options.clock ?? fakeClock(START);
  const observer = recordingObserver();
  const logs = captureLogger();
  const tokens = new TokenManager({
    portal: 'test',
    store: options.store ?? memoryStore({ refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN }),
    oauth: { oauthUrl: server.oauthUrl, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    observer,
    logger: logs.logger,
    dispatcher: agent,
    timeouts: { headersMs: 1000, bodyMs: 1000, totalMs: 2000 },
    clock,
  });
  const client = createRestClient({
    restUrl: server.restUrl,
    tokens,
    observer,
    logger: logs.logger,
    dispatcher: agent,
    clock,
    random: () => 0.5,
    limiter: new RateLimiter({ capacity: 1000, drainPerSecond: 1, clock }),
    timeouts: { headersMs: 1000, bodyMs: 1000, totalMs: 2000 },
    ...options.client,
  });
  const sleeps = 'sleeps' in clock ? clock.sleeps : [];
  return { client, tokens, observer, logs, clock, sleeps };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('should have failed'),
    (error: unknown) => error,
  );
}

/** A store that fails the test if the client touches it: no I/O of any kind. */
function untouchableStore(): TokenStore {
  return {
    path: '/untouchable',
    load: () => Promise.reject(new Error('token store read before the allow-list check')),
    save: () => Promise.reject(new Error('token store written before the allow-list check')),
  };
}

describe('read-only allow-list, before any I/O', () => {
  const forbidden = [
    'event.offline.get',
    'event.offline.clear',
    'event.offline.error',
    'event.bind',
    'event.unbind',
    'EVENT.OFFLINE.LIST',
    'Event.Offline.Get',
    ' event.offline.list',
    'event.offline.list ',
    'event.offline.list\n',
    'event.offline.list.json',
    'event.offline.get.json',
    'event.offline.list?x=1',
    '../event.offline.get',
    'batch.json',
    '',
  ];

  it.each(forbidden)('call(%j) is refused', async (method) => {
    const { client, observer } = setup({ store: untouchableStore() });

    const error = await failure(client.call(method as ReadOnlyMethod, {}));

    expect(error).toBeInstanceOf(ForbiddenMethodError);
    expect(server.requests).toHaveLength(0);
    expect(observer.requests).toEqual([]);
  });

  it.each([...forbidden, 'batch'])('a batch command calling %j is refused', async (method) => {
    const { client } = setup({ store: untouchableStore() });
    const commands = {
      ok: { method: 'event.offline.list', params: {} },
      bad: { method, params: { limit: 1 } },
    } as unknown as Record<string, BatchCommand>;

    const error = await failure(client.batch(commands));

    expect(error).toBeInstanceOf(ForbiddenMethodError);
    expect(server.requests).toHaveLength(0);
  });

  it.each([
    [{ cmd: { a: 'event.offline.get?limit=1&clear=0' } }],
    [{ cmd: { a: 'event.offline.list', b: 'event.offline.clear?process_id=x' } }],
    [{ cmd: { a: 'event.offline.error?process_id=x&message_id[]=1' } }],
    [{ cmd: { a: 'event.bind?event=ONCRMLEADADD&event_type=offline' } }],
    [{ cmd: ['EVENT.OFFLINE.GET'] }],
    [{ cmd: { a: ' event.offline.get' } }],
    [{ cmd: { a: 'event.offline.get.json?limit=1' } }],
    [{ cmd: { a: 'event.offline.list#?x=1' } }],
    [{ cmd: { a: 'batch?cmd[b]=event.offline.get' } }],
    [{ cmd: { a: 42 } }],
    [{ cmd: 'event.offline.get' }],
    [{}],
  ])('call("batch", %j) smuggling a method is refused', async (params) => {
    const { client } = setup({ store: untouchableStore() });

    const error = await failure(client.call('batch', params));

    expect(error).toBeInstanceOf(ForbiddenMethodError);
    expect(server.requests).toHaveLength(0);
  });

  it('a raw batch of allowed commands goes through', async () => {
    rest = json(200, { result: { result: { a: [] }, result_total: { a: 0 } }, time: TIME });
    const { client } = setup();

    await client.call('batch', {
      cmd: { a: 'event.offline.list?filter%5B%3DERROR%5D=1' },
      halt: 0,
    });

    expect(server.rest()[0]?.json?.['cmd']).toEqual({
      a: 'event.offline.list?filter%5B%3DERROR%5D=1',
    });
  });

  it('refuses more than 50 batch commands before any request', async () => {
    const { client } = setup({ store: untouchableStore() });
    const commands = Object.fromEntries(
      Array.from({ length: 51 }, (_, i) => [
        `c${i}`,
        { method: 'event.offline.list', params: { start: i * 50 } } as const,
      ]),
    );

    const error = await failure(client.batch(commands));

    expect(error).toBeInstanceOf(BatchLengthError);
    expect(server.requests).toHaveLength(0);
  });

  it('sends nothing for an empty batch', async () => {
    const { client } = setup({ store: untouchableStore() });

    const answer = await client.batch({});

    expect(answer.result).toEqual({});
    expect(server.requests).toHaveLength(0);
  });
});

describe('call', () => {
  it('returns result, total, next and time, and reports requests and operating time', async () => {
    rest = json(200, { result: [{ ID: '1' }], total: 120, next: 50, time: TIME });
    const { client, observer } = setup();

    const answer = await client.call('event.offline.list', { order: { ID: 'ASC' } });

    expect(answer).toEqual({ result: [{ ID: '1' }], total: 120, next: 50, time: TIME });
    expect(server.rest()[0]?.json).toEqual({ order: { ID: 'ASC' }, auth: ACCESS_TOKEN });
    expect(observer.requests).toEqual(['event.offline.list']);
    expect(observer.operatingSeen).toEqual([['event.offline.list', 3.5]]);
    expect(observer.errors).toEqual([]);
  });

  it.each([
    ['malformed JSON', (_req: SeenRequest, res: ServerResponse) => res.end('{"result": [')],
    ['no result', json(200, { total: 1 })],
    ['a non-numeric total', json(200, { result: [], total: 'many' })],
    ['a non-numeric time.operating', json(200, { result: [], time: { operating: 'x' } })],
  ])('refuses an answer with %s as a BadResponseError, without retrying', async (_what, answer) => {
    rest = answer;
    const { client, observer, sleeps } = setup();

    const error = await failure(client.call('event.offline.list', {}));

    expect(error).toBeInstanceOf(BadResponseError);
    expect((error as BadResponseError).reason).toBe('bad_response');
    expect(server.rest()).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(observer.requests).toEqual(['event.offline.list']);
  });

  it('refuses an oversized body as a BadResponseError', async () => {
    rest = json(200, { result: 'x'.repeat(1000) });
    const { client } = setup({ client: { maxBodyBytes: 100 } });

    const error = await failure(client.call('event.offline.list', {}));

    expect(error).toBeInstanceOf(BadResponseError);
  });
});

describe('batch', () => {
  const commands = {
    errors: { method: 'event.offline.list', params: { filter: { '=ERROR': 1 }, start: 0 } },
    ids: {
      method: 'event.offline.list',
      params: { filter: { '@ID': [1, 2], '>ID': 10 }, order: { ID: 'ASC' } },
    },
    feature: { method: 'feature.get', params: { CODE: 'rest_offline_extended' } },
    handlers: { method: 'event.get', params: {} },
  } as const satisfies Record<string, BatchCommand>;

  it('puts auth_connector on the batch request itself, never inside a command', async () => {
    rest = json(200, { result: { result: { handlers: [] } }, time: TIME });
    const { client } = setup({ client: { authConnector: 'c1' } });

    await client.batch({ handlers: commands.handlers, ids: commands.ids });
    await client.call('event.offline.list', { start: 0 });

    const [batch, call] = server.rest();
    expect(batch?.json).toMatchObject({ auth_connector: 'c1', halt: 0 });
    expect(JSON.stringify(batch?.json?.['cmd'])).not.toMatch(/connector/);
    expect(call?.json).toEqual({ start: 0, auth_connector: 'c1', auth: ACCESS_TOKEN });
  });

  it('sends http_build_query commands with halt=0 and maps the answer', async () => {
    rest = json(200, {
      result: {
        result: { errors: [], ids: [{ ID: '11' }], feature: { value: 'Y' } },
        result_error: { handlers: { error: 'ACCESS_DENIED', error_description: 'Access denied' } },
        result_total: { errors: 7, ids: 1 },
        result_next: [],
        result_time: {
          errors: { ...TIME, operating: 2 },
          ids: { ...TIME, operating: 2.5 },
          feature: { ...TIME, operating: 0 },
        },
      },
      time: { ...TIME, operating: 0.1 },
    });
    const { client, observer } = setup();

    const answer = await client.batch(commands);

    const [req] = server.rest();
    expect(req?.path).toBe('/rest/batch');
    expect(req?.json).toEqual({
      cmd: {
        errors: 'event.offline.list?filter%5B%3DERROR%5D=1&start=0',
        ids: 'event.offline.list?filter%5B%40ID%5D%5B0%5D=1&filter%5B%40ID%5D%5B1%5D=2&filter%5B%3EID%5D=10&order%5BID%5D=ASC',
        feature: 'feature.get?CODE=rest_offline_extended',
        handlers: 'event.get',
      },
      halt: 0,
      auth: ACCESS_TOKEN,
    });
    expect(answer.result).toEqual({ errors: [], ids: [{ ID: '11' }], feature: { value: 'Y' } });
    expect(answer.resultError).toEqual({
      handlers: { error: 'ACCESS_DENIED', error_description: 'Access denied' },
    });
    expect(answer.resultTotal).toEqual({ errors: 7, ids: 1 });
    expect(answer.resultNext).toEqual({});
    expect(Object.keys(answer.resultTime)).toEqual(['errors', 'ids', 'feature']);
    expect(observer.requests).toEqual(['batch']);
    expect(observer.operatingSeen).toEqual([
      ['batch', 0.1],
      ['event.offline.list', 2.5],
      ['feature.get', 0],
    ]);
    expect(observer.errors).toEqual([['event.get', 'ACCESS_DENIED']]);
  });

  it('reads PHP lists: empty maps as [] and numeric command names as a list', async () => {
    rest = json(200, {
      result: {
        result: [[{ ID: '1' }], []],
        result_error: [],
        result_total: [1, 0],
        result_next: [],
        result_time: [],
      },
    });
    const { client } = setup();

    const answer = await client.batch({
      0: { method: 'event.offline.list', params: {} },
      1: { method: 'event.offline.list', params: { filter: { '=ERROR': 1 } } },
    });

    expect(answer.result).toEqual({ 0: [{ ID: '1' }], 1: [] });
    expect(answer.resultTotal).toEqual({ 0: 1, 1: 0 });
    expect(answer.resultError).toEqual({});
  });

  it.each([
    ['no result', { time: TIME }],
    ['a list as result', { result: [] }],
    ['a string total', { result: { result: {}, result_total: { a: 'x' } } }],
    [
      'an error without code',
      { result: { result: {}, result_error: { a: { error_description: 'x' } } } },
    ],
  ])('refuses a batch answer with %s', async (_what, body) => {
    rest = json(200, body);
    const { client } = setup();

    const error = await failure(client.batch({ a: { method: 'event.offline.list', params: {} } }));

    expect(error).toBeInstanceOf(BadResponseError);
  });
});

describe('tokens', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'b24-client-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refreshes on expired_token and writes the new pair (0600) before the retried call', async () => {
    const path = join(dir, 'portal.tokens.json');
    const store = new FileTokenStore(path);
    await store.save({ refreshToken: REFRESH_TOKEN, accessToken: ACCESS_TOKEN });
    const fileAtRetry: { refreshToken?: unknown; mode: number }[] = [];
    rest = byToken({
      [ACCESS_TOKEN]: json(401, {
        error: 'expired_token',
        error_description: 'The access token provided has expired.',
      }),
      [NEW_ACCESS_TOKEN]: (_req, res) => {
        fileAtRetry.push({
          refreshToken: (JSON.parse(readFileSync(path, 'utf8')) as { refreshToken?: unknown })
            .refreshToken,
          mode: statSync(path).mode & 0o777,
        });
        sendJson(res, 200, { result: [], total: 0 });
      },
    });
    const { client, observer, sleeps } = setup({ store });

    const answer = await client.call('event.offline.list', {});

    expect(answer.total).toBe(0);
    expect(fileAtRetry).toEqual([{ refreshToken: NEW_REFRESH_TOKEN, mode: 0o600 }]);
    expect(server.oauth()).toHaveLength(1);
    expect(server.rest().map((r) => r.json?.['auth'])).toEqual([ACCESS_TOKEN, NEW_ACCESS_TOKEN]);
    expect(observer.requests).toEqual(['event.offline.list', 'event.offline.list']);
    expect(observer.errors).toEqual([['event.offline.list', 'expired_token']]);
    expect(observer.refreshes).toEqual([true]);
    expect(sleeps).toEqual([]);
  });

  it('makes exactly one refresh request for concurrent calls during expiry', async () => {
    rest = byToken({
      [ACCESS_TOKEN]: json(401, { error: 'expired_token' }),
      [NEW_ACCESS_TOKEN]: (req, res) =>
        sendJson(
          res,
          200,
          req.path.endsWith('/batch') ? { result: { result: { a: [] } } } : { result: [] },
        ),
    });
    oauth = async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      sendJson(res, 200, oauthAnswer(NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN));
    };
    const { client, observer } = setup();

    const answers = await Promise.all([
      ...Array.from({ length: 6 }, () => client.call('event.offline.list', {})),
      client.batch({ a: { method: 'event.offline.list', params: {} } }),
    ]);

    expect(answers).toHaveLength(7);
    expect(server.oauth()).toHaveLength(1);
    expect(observer.refreshes).toEqual([true]);
  });

  it('refreshes once on invalid_token, then fails with AuthError', async () => {
    rest = json(401, {
      error: 'invalid_token',
      error_description: 'The access token provided is invalid.',
    });
    const { client, observer } = setup();

    const error = await failure(client.call('event.get', {}));

    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).reason).toBe('auth');
    expect((error as AuthError).message).toMatch(/re-authorize/);
    expect(server.oauth()).toHaveLength(1);
    expect(server.rest()).toHaveLength(2);
    expect(observer.errors).toEqual([
      ['event.get', 'invalid_token'],
      ['event.get', 'invalid_token'],
    ]);
  });

  it('refreshes once more when the fresh token too answers expired_token, then gives up', async () => {
    rest = json(401, { error: 'expired_token' });
    const { client, observer } = setup();

    const error = await failure(client.call('event.get', {}));

    // a fresh token may expire while a call waits out retries: one more refresh, not a third
    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).reason).toBe('auth');
    expect(server.oauth()).toHaveLength(2);
    expect(server.rest()).toHaveLength(3);
    expect(observer.refreshes).toEqual([true, true]);
  });

  it('fails with reason auth and an actionable message when the refresh token is refused', async () => {
    rest = json(401, { error: 'expired_token' });
    oauth = json(400, { error: 'invalid_grant', error_description: 'Invalid grant' });
    const { client, observer, logs } = setup();

    const error = await failure(client.call('event.offline.list', {}));

    expect(error).toBeInstanceOf(AuthError);
    expect((error as AuthError).reason).toBe('auth');
    expect((error as AuthError).message).toMatch(
      /re-authorize the application on the portal and give the monitor the new refresh token via B24_REFRESH_TOKEN or the token file/,
    );
    expect(observer.refreshes).toEqual([false]);
    expect(logs.lines).toContainEqual(
      expect.objectContaining({
        msg: 'Token refresh refused: the application must be re-authorized',
        code: 'invalid_grant',
      }),
    );
  });

  it('retries a refresh that failed on the network, with backoff', async () => {
    rest = byToken({
      [ACCESS_TOKEN]: json(401, { error: 'expired_token' }),
      [NEW_ACCESS_TOKEN]: json(200, { result: [] }),
    });
    oauth = sequence(
      json(502, { error: 'HTTP_502' }),
      json(200, oauthAnswer(NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN)),
    );
    const { client, observer, sleeps } = setup();

    await client.call('event.offline.list', {});

    expect(server.oauth()).toHaveLength(2);
    expect(sleeps).toEqual([1000]);
    expect(observer.refreshes).toEqual([false, true]);
    expect(observer.errors).toEqual([['event.offline.list', 'expired_token']]);
  });

  it.each([
    [401, 'NO_AUTH_FOUND', 'auth'],
    [401, 'CONNECTION_ERROR', 'auth'],
    [401, 'APPLICATION_NOT_FOUND', 'auth'],
    [401, 'authorization_error', 'auth'],
    [401, 'user_access_error', 'auth'],
    [401, 'ACCESS_DENIED', 'license'],
    [403, 'WRONG_LICENSE', 'license'],
    [403, 'ACCESS_DENIED', 'forbidden'],
    [403, 'WRONG_AUTH_TYPE', 'forbidden'],
    [403, 'INVALID_CREDENTIALS', 'forbidden'],
    [403, 'insufficient_scope', 'forbidden'],
    [403, 'user_access_error', 'forbidden'],
  ])(
    'fails at once on %i %s with reason %s, no refresh, no retry',
    async (status, code, reason) => {
      rest = json(status, { error: code, error_description: 'no' });
      const { client, observer, sleeps } = setup();

      const error = await failure(client.call('event.offline.list', {}));

      expect(error).toMatchObject({ apiCode: code, reason });
      expect(server.rest()).toHaveLength(1);
      expect(server.oauth()).toHaveLength(0);
      expect(sleeps).toEqual([]);
      expect(observer.errors).toEqual([['event.offline.list', code]]);
    },
  );
});

describe('retries', () => {
  it.each([
    [
      'QUERY_LIMIT_EXCEEDED',
      json(503, { error: 'QUERY_LIMIT_EXCEEDED' }),
      [2000, 3000, 4500],
      'rate_limit',
      'QUERY_LIMIT_EXCEEDED',
    ],
    [
      'INTERNAL_SERVER_ERROR',
      json(500, { error: 'INTERNAL_SERVER_ERROR' }),
      [1000, 2000, 4000],
      'api_error',
      'INTERNAL_SERVER_ERROR',
    ],
    [
      'ERROR_UNEXPECTED_ANSWER',
      json(500, { error: 'ERROR_UNEXPECTED_ANSWER' }),
      [1000, 2000, 4000],
      'api_error',
      'ERROR_UNEXPECTED_ANSWER',
    ],
    [
      'a 502 page',
      (_req: SeenRequest, res: ServerResponse) => {
        res.writeHead(502, { 'content-type': 'text/html' });
        res.end('<h1>502</h1>');
      },
      [1000, 2000, 4000],
      'api_error',
      'HTTP_502',
    ],
    ['a 504', json(504, {}), [1000, 2000, 4000], 'api_error', 'HTTP_504'],
  ])(
    'retries %s 3 times with waits %j, then fails with reason %s',
    async (_what, answer, waits, reason, code) => {
      rest = answer;
      const { client, observer, sleeps, logs } = setup();

      const error = await failure(client.call('event.offline.list', {}));

      expect(error).toMatchObject({ reason, apiCode: code });
      expect(sleeps).toEqual(waits);
      expect(server.rest()).toHaveLength(4);
      expect(observer.requests).toHaveLength(4);
      expect(observer.errors).toEqual(Array(4).fill(['event.offline.list', code]));
      expect(logs.lines.filter((l) => l['msg'] === 'Retrying Bitrix24 request')).toHaveLength(3);
    },
  );

  it('returns the answer once a retry succeeds', async () => {
    rest = sequence(
      json(503, { error: 'QUERY_LIMIT_EXCEEDED' }),
      json(500, { error: 'INTERNAL_SERVER_ERROR' }),
      json(200, { result: [], total: 5 }),
    );
    const { client, sleeps } = setup();

    const answer = await client.call('event.offline.list', {});

    expect(answer.total).toBe(5);
    expect(sleeps).toEqual([2000, 2000]);
  });

  it('retries a reset connection and fails with NetworkError and its code', async () => {
    rest = (_req, res) => {
      res.socket?.resetAndDestroy();
    };
    const { client, observer, sleeps } = setup();

    const error = await failure(client.call('event.offline.list', {}));

    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).reason).toBe('network');
    expect(sleeps).toEqual([1000, 2000, 4000]);
    expect(observer.errors.map(([, code]) => code)).toEqual(
      Array(4).fill((error as NetworkError).netCode),
    );
  });

  it('fails a hung request with TimeoutError', async () => {
    rest = () => undefined;
    const { client, observer } = setup({
      client: { maxRetries: 0, timeouts: { headersMs: 150, bodyMs: 150, totalMs: 1000 } },
    });

    const error = await failure(client.call('event.offline.list', {}));

    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).reason).toBe('timeout');
    expect(observer.errors).toEqual([['event.offline.list', 'TIMEOUT']]);
  });

  it('waits until operating_reset_at after 429', async () => {
    rest = sequence(
      json(429, { error: 'OPERATION_TIME_LIMIT', time: { operating_reset_at: START / 1000 + 7 } }),
      json(200, { result: [] }),
    );
    const { client, sleeps } = setup();

    await client.call('event.offline.list', {}, { deadline: START + 25_000 });

    expect(sleeps).toEqual([7000]);
  });

  it('after a 429 without a reset time, waits for the reset the last answer reported', async () => {
    rest = sequence(
      json(200, { result: [], time: { ...TIME, operating_reset_at: START / 1000 + 4 } }),
      json(429, { error: 'OPERATION_TIME_LIMIT' }),
      json(200, { result: [] }),
    );
    const { client, sleeps } = setup();
    await client.call('event.offline.list', {});

    await client.call('event.offline.list', {});

    expect(sleeps).toEqual([4000]);
  });

  it('fails with reason operating_limit at once when the reset is past the deadline', async () => {
    rest = json(429, {
      error: 'OPERATION_TIME_LIMIT',
      time: { operating_reset_at: START / 1000 + 300 },
    });
    const { client, sleeps } = setup();

    const error = await failure(
      client.call('event.offline.list', {}, { deadline: START + 25_000 }),
    );

    expect(error).toMatchObject({ reason: 'operating_limit', apiCode: 'OPERATION_TIME_LIMIT' });
    expect(sleeps).toEqual([]);
    expect(server.rest()).toHaveLength(1);
  });

  it.each([
    [503, 'OVERLOAD_LIMIT', 'rate_limit'],
    [500, 'PORTAL_DELETED', 'api_error'],
    [400, 'ERROR_ARGUMENT', 'api_error'],
  ])('does not retry %i %s (reason %s)', async (status, code, reason) => {
    rest = json(status, { error: code });
    const { client, sleeps } = setup();

    const error = await failure(client.call('event.offline.list', {}));

    expect(error).toMatchObject({ apiCode: code, reason });
    expect(server.rest()).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('honours maxRetries', async () => {
    rest = json(500, { error: 'INTERNAL_SERVER_ERROR' });
    const { client, sleeps } = setup({ client: { maxRetries: 1 } });

    await failure(client.call('event.offline.list', {}));

    expect(sleeps).toEqual([1000]);
    expect(server.rest()).toHaveLength(2);
  });

  it('waits in the limiter before each request', async () => {
    const clock = fakeClock(START);
    const { client, sleeps } = setup({
      clock,
      client: { limiter: new RateLimiter({ capacity: 2, drainPerSecond: 2, clock }) },
    });

    for (let i = 0; i < 4; i += 1) await client.call('event.offline.list', {});

    expect(sleeps).toEqual([500, 500]);
  });
});

describe('abort', () => {
  /** A clock whose sleeps last until aborted. */
  function stuckClock(): Clock {
    return {
      now: () => START,
      sleep: (_ms, signal) =>
        new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(new AbortedError('Aborted')), {
            once: true,
          });
        }),
    };
  }

  it('fails at once with AbortedError and no request when already aborted', async () => {
    const { client } = setup();

    const error = await failure(
      client.call('event.offline.list', {}, { signal: AbortSignal.abort() }),
    );

    expect(error).toBeInstanceOf(AbortedError);
    expect(server.requests).toHaveLength(0);
  });

  it('aborts a request in flight', async () => {
    rest = () => undefined;
    const { client } = setup();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);

    const error = await failure(
      client.call('event.offline.list', {}, { signal: controller.signal }),
    );

    expect(error).toBeInstanceOf(AbortedError);
  });

  it('aborts a retry wait', async () => {
    rest = json(503, { error: 'QUERY_LIMIT_EXCEEDED' });
    const { client } = setup({ clock: stuckClock() });
    const controller = new AbortController();
    // aborted once the first attempt has been answered, i.e. in the wait before a retry (a
    // fixed 30-ms timer could fire before the request left on a loaded machine)
    const answered = setInterval(() => {
      if (server.rest().length > 0) controller.abort();
    }, 5);

    const error = await failure(
      client.call('event.offline.list', {}, { signal: controller.signal }),
    ).finally(() => clearInterval(answered));

    expect(error).toBeInstanceOf(AbortedError);
    expect(server.rest()).toHaveLength(1);
  });

  it('aborts a wait in the limiter', async () => {
    const clock = stuckClock();
    const limiter = new RateLimiter({ capacity: 1, drainPerSecond: 1, clock });
    const { client } = setup({ clock, client: { limiter } });
    await client.call('event.offline.list', {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);

    const error = await failure(
      client.call('event.offline.list', {}, { signal: controller.signal }),
    );

    expect(error).toBeInstanceOf(AbortedError);
    expect(server.rest()).toHaveLength(1);
  });
});

describe('secrets', () => {
  it('never puts a token or the client secret in an error message or a log line', async () => {
    const echo: Script = (req, res) =>
      sendJson(res, 401, {
        error: 'invalid_token',
        error_description: `bad ${String(req.json?.['auth'])}`,
      });
    const oauthEcho: Script = (req, res) =>
      sendJson(res, 400, {
        error: 'invalid_grant',
        error_description: `bad ${req.query.get('refresh_token')} for ${req.query.get('client_secret')}`,
      });
    const scenarios: [Script, Script][] = [
      [echo, json(200, oauthAnswer(NEW_ACCESS_TOKEN, NEW_REFRESH_TOKEN))],
      [json(401, { error: 'expired_token' }), oauthEcho],
      [
        json(401, { error: 'expired_token' }),
        json(500, { error: 'server_error', error_description: `x ${CLIENT_SECRET}` }),
      ],
      [json(401, { error: 'expired_token' }), (_req, res) => res.socket?.destroy()],
      [json(401, { error: 'expired_token' }), json(200, { access_token: NEW_ACCESS_TOKEN })],
      [(_req, res) => res.socket?.resetAndDestroy(), oauthEcho],
      [json(500, { error: 'INTERNAL_SERVER_ERROR', error_description: ACCESS_TOKEN }), oauthEcho],
      [(_req, res) => res.end(`{"result": "${ACCESS_TOKEN}`), oauthEcho],
    ];
    const seen: string[] = [];

    for (const [restScript, oauthScript] of scenarios) {
      rest = restScript;
      oauth = oauthScript;
      const { client, logs } = setup();
      const error = await failure(client.call('event.offline.list', {}));
      seen.push(errorText(error), ...logs.raw);
      const batchError = await failure(
        client.batch({ a: { method: 'event.offline.list', params: {} } }),
      );
      seen.push(errorText(batchError), ...logs.raw);
    }

    const text = seen.join('\n');
    expect(text).toContain('[redacted]');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });
});
