import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  ApiError,
  BadResponseError,
  NetworkError,
  TimeoutError,
} from '../../src/b24/errors.js';
import { DEFAULT_TIMEOUTS, type TransportOptions } from '../../src/b24/httpExchange.js';
import { postRest } from '../../src/b24/postRest.js';
import {
  ACCESS_TOKEN,
  errorText,
  type SeenRequest,
  sendJson,
  startServer,
  testAgent,
  type TestServer,
} from './helpers.js';

type Script = (req: SeenRequest, res: ServerResponse, raw: IncomingMessage) => unknown;

let script: Script;
let server: TestServer;
const agent = testAgent();
const options: TransportOptions = {
  dispatcher: agent,
  timeouts: { ...DEFAULT_TIMEOUTS, headersMs: 300, bodyMs: 300, totalMs: 2000 },
  maxBodyBytes: 1024,
};

beforeAll(async () => {
  server = await startServer((req, res, raw) => script(req, res, raw));
});

afterAll(async () => {
  await server.close();
  await agent.close();
});

beforeEach(() => {
  server.requests.length = 0;
});

function post(signal?: AbortSignal, opts: TransportOptions = options) {
  return postRest(
    server.restUrl,
    'event.offline.list',
    { filter: { '=ERROR': 1 } },
    ACCESS_TOKEN,
    opts,
    signal,
  );
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('should have failed'),
    (error: unknown) => error,
  );
}

describe('postRest', () => {
  it('POSTs the params and auth as JSON to restUrl + method', async () => {
    script = (_req, res) => sendJson(res, 200, { result: [], total: 0 });

    const answer = await post();

    expect(answer).toEqual({ result: [], total: 0 });
    const [req] = server.requests;
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/rest/event.offline.list');
    expect(req?.json).toEqual({ filter: { '=ERROR': 1 }, auth: ACCESS_TOKEN });
    expect([...(req?.query ?? [])]).toEqual([]);
  });

  it.each([
    [401, 'expired_token', 'auth'],
    [401, 'invalid_token', 'auth'],
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
    [200, 'ACCESS_DENIED', 'forbidden'],
    [503, 'QUERY_LIMIT_EXCEEDED', 'rate_limit'],
    [503, 'OVERLOAD_LIMIT', 'rate_limit'],
    [429, 'OPERATION_TIME_LIMIT', 'operating_limit'],
    [500, 'INTERNAL_SERVER_ERROR', 'api_error'],
    [500, 'PORTAL_DELETED', 'api_error'],
    [400, 'ERROR_ARGUMENT', 'api_error'],
    [404, 'ERROR_METHOD_NOT_FOUND', 'api_error'],
    [200, 'ERROR_ARGUMENT', 'api_error'],
  ])('maps %i %s to an ApiError with reason %s', async (status, code, reason) => {
    script = (_req, res) => sendJson(res, status, { error: code, error_description: 'Something' });

    const error = await failure(post());

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      statusCode: status,
      apiCode: code,
      reason,
      method: 'event.offline.list',
    });
    expect((error as ApiError).message).toBe(
      `Bitrix24 event.offline.list answered ${status} ${code}: Something`,
    );
  });

  it('keeps operating_reset_at of an error answer', async () => {
    script = (_req, res) =>
      sendJson(res, 429, {
        error: 'OPERATION_TIME_LIMIT',
        time: { operating_reset_at: 1_700_000_123 },
      });

    const error = await failure(post());

    expect(error).toMatchObject({ operatingResetAt: 1_700_000_123 });
  });

  it.each([
    [502, 'HTTP_502', 'api_error'],
    [504, 'HTTP_504', 'api_error'],
    [401, 'HTTP_401', 'auth'],
  ])('maps a non-JSON %i page to %s', async (status, code, reason) => {
    script = (_req, res) => {
      res.writeHead(status, { 'content-type': 'text/html' });
      res.end('<html>Bad gateway</html>');
    };

    const error = await failure(post());

    expect(error).toMatchObject({ apiCode: code, reason, statusCode: status });
  });

  it.each([
    ['garbage', 'not JSON'],
    ['', 'not JSON'],
    ['[1,2]', 'not a JSON object'],
    ['"text"', 'not a JSON object'],
  ])('refuses a 200 answer %j as a BadResponseError', async (body, what) => {
    script = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    };

    const error = await failure(post());

    expect(error).toBeInstanceOf(BadResponseError);
    expect((error as BadResponseError).reason).toBe('bad_response');
    expect((error as BadResponseError).message).toContain(what);
  });

  it('refuses a body announced larger than the cap without reading it', async () => {
    script = (_req, res) => sendJson(res, 200, { result: 'x'.repeat(5000) });

    const error = await failure(post());

    expect(error).toBeInstanceOf(BadResponseError);
    expect((error as Error).message).toMatch(/larger than 1024/);
  });

  it('stops reading a chunked body once it passes the cap', async () => {
    let written = 0;
    let closed = false;
    script = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"result":"');
      const timer = setInterval(() => {
        if (res.destroyed || closed) {
          clearInterval(timer);
          return;
        }
        res.write('x'.repeat(512));
        written += 512;
        if (written > 100_000) {
          clearInterval(timer);
          res.end('"}');
        }
      }, 1);
      res.on('close', () => {
        closed = true;
      });
    };

    const error = await failure(post());

    expect(error).toBeInstanceOf(BadResponseError);
    expect((error as Error).message).toMatch(/larger than 1024 bytes; not read further/);
  });

  it('turns a reset connection into a NetworkError with the system code', async () => {
    script = (_req, _res, raw) => {
      raw.socket.resetAndDestroy();
    };

    const error = await failure(post());

    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).netCode).toMatch(/^(ECONNRESET|UND_ERR_SOCKET)$/);
    expect((error as NetworkError).reason).toBe('network');
    expect(errorText(error)).not.toContain(ACCESS_TOKEN);
  });

  it('turns a refused connection into a NetworkError ECONNREFUSED', async () => {
    const gone = await startServer(() => undefined);
    const url = gone.restUrl;
    await gone.close();

    const error = await failure(postRest(url, 'event.get', {}, ACCESS_TOKEN, options));

    expect(error).toMatchObject({ netCode: 'ECONNREFUSED', reason: 'network' });
    expect((error as Error).message).not.toContain(url);
  });

  it('turns a hang into a TimeoutError', async () => {
    script = () => undefined;

    const error = await failure(post());

    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).reason).toBe('timeout');
  });

  it('enforces the total timeout on a body that trickles in', async () => {
    script = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 20);
      res.on('close', () => clearInterval(timer));
    };
    const slow = { ...options, timeouts: { ...options.timeouts, totalMs: 250 } };

    const error = await failure(post(undefined, slow));

    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/within 250 ms/);
  });

  it('turns an abort into an AbortedError', async () => {
    script = () => undefined;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);

    const error = await failure(post(controller.signal));

    expect(error).toBeInstanceOf(AbortedError);
  });

  it('scrubs the access token from an echoed error_description', async () => {
    script = (req, res) =>
      sendJson(res, 401, {
        error: 'invalid_token',
        error_description: `token ${String(req.json?.['auth'])} is bad`,
      });

    const error = await failure(post());

    expect((error as Error).message).toContain('token [redacted] is bad');
    expect(errorText(error)).not.toContain(ACCESS_TOKEN);
  });
});
