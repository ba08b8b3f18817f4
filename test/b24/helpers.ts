/** Fixtures of the b24 tests: a scripted HTTP server, a fake clock, a log capture. */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Agent } from 'undici';
import { AbortedError } from '../../src/b24/errors.js';
import type { Clock } from '../../src/b24/clock.js';
import type { TokenPair, TokenStore } from '../../src/b24/tokenStore.js';
import type { ClientObserver } from '../../src/b24/types.js';

export const ACCESS_TOKEN = 'access-token-0001-aaaaaaaaaaaaaaaa';
export const REFRESH_TOKEN = 'refresh-token-0001-rrrrrrrrrrrrrrrr';
export const NEW_ACCESS_TOKEN = 'access-token-0002-bbbbbbbbbbbbbbbb';
export const NEW_REFRESH_TOKEN = 'refresh-token-0002-ssssssssssssssss';
export const CLIENT_ID = 'local.app.0001';
export const CLIENT_SECRET = 'client-secret-zzzzzzzzzzzzzzzzzzzz';
export const SECRETS = [
  ACCESS_TOKEN,
  REFRESH_TOKEN,
  NEW_ACCESS_TOKEN,
  NEW_REFRESH_TOKEN,
  CLIENT_SECRET,
] as const;

export interface SeenRequest {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: string;
  /** The JSON body, or undefined. */
  readonly json: Record<string, unknown> | undefined;
}

export type Handler = (req: SeenRequest, res: ServerResponse, raw: IncomingMessage) => unknown;

export interface TestServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly restUrl: string;
  readonly oauthUrl: string;
  readonly requests: SeenRequest[];
  /** Requests to the REST endpoint only (not OAuth). */
  rest(): SeenRequest[];
  /** Requests to the OAuth endpoint only. */
  oauth(): SeenRequest[];
  close(): Promise<void>;
}

export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = createServer((raw, res) => {
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(raw.url ?? '/', 'http://127.0.0.1');
      let json: Record<string, unknown> | undefined;
      try {
        json = body ? (JSON.parse(body) as Record<string, unknown>) : undefined;
      } catch {
        json = undefined;
      }
      const seen = {
        method: raw.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        body,
        json,
      };
      requests.push(seen);
      Promise.resolve(handler(seen, res, raw)).catch((error: unknown) => {
        res.statusCode = 599;
        res.end(String(error));
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    restUrl: `${url}rest/`,
    oauthUrl: `${url}oauth/token/`,
    requests,
    rest: () => requests.filter((r) => r.path.startsWith('/rest/')),
    oauth: () => requests.filter((r) => r.path.startsWith('/oauth/')),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text);
}

/** A successful OAuth answer. */
export function oauthAnswer(access: string, refresh: string, expires = 1_700_003_600) {
  return {
    access_token: access,
    refresh_token: refresh,
    expires,
    expires_in: 3600,
    domain: 'example.bitrix24.com',
    server_endpoint: 'https://oauth.bitrix.info/rest/',
    client_endpoint: 'https://example.bitrix24.com/rest/',
    member_id: 'm1',
    status: 'L',
    scope: 'app',
    user_id: 1,
  };
}

export function testAgent(): Agent {
  return new Agent({ keepAliveTimeout: 10 });
}

export interface FakeClock extends Clock {
  /** Every sleep asked for, in ms, in order. */
  readonly sleeps: number[];
  advance(ms: number): void;
}

/** Time that moves only when someone sleeps: backoffs of minutes take no time. */
export function fakeClock(start = 1_700_000_000_000): FakeClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => now,
    advance: (ms) => {
      now += ms;
    },
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw new AbortedError('Aborted', { cause: signal.reason });
      sleeps.push(ms);
      now += ms;
      await Promise.resolve();
      if (signal?.aborted) throw new AbortedError('Aborted', { cause: signal.reason });
    },
  };
}

export interface LogCapture {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
  readonly raw: string[];
}

export function captureLogger(): LogCapture {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), lines, raw };
}

export interface RecordingObserver extends ClientObserver {
  readonly requests: string[];
  readonly errors: [string, string][];
  readonly operatingSeen: [string, number][];
  readonly refreshes: boolean[];
}

export function recordingObserver(): RecordingObserver {
  const requests: string[] = [];
  const errors: [string, string][] = [];
  const operatingSeen: [string, number][] = [];
  const refreshes: boolean[] = [];
  return {
    requests,
    errors,
    operatingSeen,
    refreshes,
    request: (method) => requests.push(method),
    restError: (method, code) => errors.push([method, code]),
    operating: (method, seconds) => operatingSeen.push([method, seconds]),
    refresh: (ok) => refreshes.push(ok),
  };
}

/** An in-memory TokenStore recording what was saved. */
export function memoryStore(initial: TokenPair | null = null, path = '/memory/tokens.json') {
  let pair = initial;
  const saved: TokenPair[] = [];
  const store: TokenStore & { readonly saved: TokenPair[]; current(): TokenPair | null } = {
    path,
    saved,
    current: () => pair,
    load: () => Promise.resolve(pair),
    save: (next) => {
      pair = next;
      saved.push(next);
      return Promise.resolve();
    },
  };
  return store;
}

/** Every string in an error, its cause chain included. */
export function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth += 1) {
    if (current instanceof Error) {
      parts.push(current.message, current.stack ?? '', JSON.stringify(current));
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.join('\n');
}
