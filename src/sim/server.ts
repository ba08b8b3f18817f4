/**
 * The HTTP face of the simulation: one `node:http` server hosting any number of portals at
 * `<url>/<portalId>/rest/<method>[.json]` (and their consent pages at
 * `<url>/<portalId>/oauth/authorize/`) and the OAuth server at `<url>/oauth/token/`.
 * Parameters come from the query string and the body (JSON or form, the body winning), as
 * PHP's `$_REQUEST` would have them.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock } from './clock.js';
import { systemClock } from './clock.js';
import { OAuthServer } from './oauth.js';
import type { OAuthReply } from './oauth.js';
import { parseStr } from './phpQuery.js';
import { SimPortal } from './portal.js';
import type { SimPortalOptions } from './portalOptions.js';
import type { RestReply } from './restPipeline.js';
import type { Random } from './random.js';
import { deriveSeed, seededRandom } from './random.js';

export interface SimServerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** Drives token expiry, limits, reservations and new events' TIMESTAMP_X. @default systemClock */
  readonly clock?: Clock;
  /** One PRNG shared by every portal; without it each portal gets its own stream from `seed`. */
  readonly random?: Random;
  /** Seed of the per-portal PRNG streams. @default 20240718 */
  readonly seed?: number;
  /** Larger request bodies get 413. @default 8 MiB */
  readonly maxBodyBytes?: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const PORTAL_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REST_PATH_RE = /^\/([^/]+)\/rest\/([^/]+)$/;
const OAUTH_PATH_RE = /^\/oauth\/token\/?$/;
const AUTHORIZE_PATH_RE = /^\/([^/]+)\/oauth\/authorize\/?$/;

class BodyTooLarge extends Error {}

export class SimServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `<url>/oauth/token/` */
  readonly oauthUrl: string;
  readonly oauth: OAuthServer;
  readonly clock: Clock;
  /** The last unexpected error of the HTTP layer (answered 500); for debugging tests. */
  lastError: unknown = null;
  private readonly portals = new Map<string, SimPortal>();
  private readonly closing = new AbortController();

  private constructor(
    private readonly http: Server,
    url: string,
    private readonly options: SimServerOptions,
  ) {
    this.url = url;
    this.oauthUrl = `${url}/oauth/token/`;
    this.clock = options.clock ?? systemClock;
    this.oauth = new OAuthServer(this.clock, `${url}/rest/`);
  }

  static async start(options: SimServerOptions = {}): Promise<SimServer> {
    const http = createServer();
    http.listen(options.port ?? 0, options.host ?? '127.0.0.1');
    await once(http, 'listening');
    const address = http.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const server = new SimServer(http, `http://${host}:${address.port}`, options);
    http.on('request', (req: IncomingMessage, res: ServerResponse) => {
      server.onRequest(req, res).catch((error: unknown) => {
        server.lastError = error;
        if (res.headersSent) res.destroy();
        else
          sendJson(res, 500, { error: 'INTERNAL_SERVER_ERROR', error_description: String(error) });
      });
    });
    return server;
  }

  /** Adds a portal; its REST endpoint is `<url>/<id>/rest/`. */
  addPortal(id: string, options: SimPortalOptions = {}): SimPortal {
    if (!PORTAL_ID_RE.test(id) || id === 'oauth') throw new Error(`Bad portal id: ${id}`);
    if (this.portals.has(id)) throw new Error(`Portal exists already: ${id}`);
    const seed = this.options.seed ?? 20240718;
    const portal = new SimPortal(id, options, {
      clock: this.clock,
      oauth: this.oauth,
      baseUrl: this.url,
      faultRandom: this.options.random ?? seededRandom(deriveSeed(seed, `faults:${id}`)),
      idRandom: this.options.random ?? seededRandom(deriveSeed(seed, `ids:${id}`)),
    });
    this.oauth.register(portal);
    this.portals.set(id, portal);
    return portal;
  }

  /** The portal with this id; throws when there is none. */
  portal(id: string): SimPortal {
    const portal = this.portals.get(id);
    if (portal === undefined) throw new Error(`No such portal: ${id}`);
    return portal;
  }

  listPortals(): SimPortal[] {
    return [...this.portals.values()];
  }

  /** Removes a portal: its URL answers 404 and its tokens stop working. */
  removePortal(id: string): void {
    this.portals.delete(id);
    this.oauth.unregister(id);
  }

  /** Stops listening and drops every connection at once, hanging requests included. */
  async close(): Promise<void> {
    this.closing.abort();
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await closed;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const mark = target.indexOf('?');
    const path = mark < 0 ? target : target.slice(0, mark);
    if (req.method !== 'GET' && req.method !== 'POST') {
      sendJson(res, 405, { error: 'METHOD_NOT_ALLOWED', error_description: 'Use GET or POST' });
      return;
    }
    let params: Record<string, unknown>;
    try {
      const body = await readBody(req, this.options.maxBodyBytes ?? 8 * 1024 * 1024);
      params = { ...parseStr(mark < 0 ? '' : target.slice(mark + 1)), ...parseBody(req, body) };
    } catch (error) {
      const tooLarge = error instanceof BodyTooLarge;
      sendJson(res, tooLarge ? 413 : 400, {
        error: tooLarge ? 'REQUEST_TOO_LARGE' : 'ERROR_ARGUMENT',
        error_description: tooLarge ? 'Request body too large' : 'Could not parse the request body',
      });
      if (tooLarge) res.once('finish', () => req.socket.destroy());
      return;
    }
    if (OAUTH_PATH_RE.test(path)) {
      await this.deliverOAuth(req, res, this.oauth.handleToken(params));
      return;
    }
    const authorize = AUTHORIZE_PATH_RE.exec(path);
    const consenting =
      authorize === null ? undefined : this.portals.get(safeDecode(authorize[1] ?? ''));
    if (consenting !== undefined) {
      await this.deliverOAuth(req, res, consenting.handleAuthorize(params));
      return;
    }
    const match = REST_PATH_RE.exec(path);
    const portal = match === null ? undefined : this.portals.get(safeDecode(match[1] ?? ''));
    if (match === null || portal === undefined) {
      sendJson(res, 404, { error: 'NOT_FOUND', error_description: 'No such portal or path' });
      return;
    }
    const source = req.socket.remoteAddress ?? '';
    await this.deliver(req, res, await portal.handle(safeDecode(match[2] ?? ''), params, source));
  }

  private async deliver(
    req: IncomingMessage,
    res: ServerResponse,
    reply: RestReply,
  ): Promise<void> {
    if (reply.kind === 'reset' || reply.kind === 'hang') {
      this.deliverTransport(req, reply.kind);
      return;
    }
    if (reply.latencyMs > 0) {
      try {
        await delay(reply.latencyMs, undefined, { signal: this.closing.signal });
      } catch {
        return; // closing
      }
    }
    if (reply.kind === 'huge') {
      await streamHugeBody(res, reply.bytes, this.closing.signal);
      return;
    }
    sendText(res, reply.status, reply.text, JSON_TYPE);
  }

  private async deliverOAuth(
    req: IncomingMessage,
    res: ServerResponse,
    reply: OAuthReply,
  ): Promise<void> {
    switch (reply.kind) {
      case 'reset':
      case 'hang':
        this.deliverTransport(req, reply.kind);
        return;
      case 'html':
        sendText(res, reply.status, reply.body, 'text/html; charset=utf-8');
        return;
      case 'json':
        sendJson(res, reply.status, reply.body);
        return;
      case 'redirect':
        res.writeHead(302, { location: reply.location, 'content-length': 0 });
        res.end();
        return;
    }
  }

  /** A reset drops the connection with a TCP RST; a hang leaves it open until `close()`. */
  private deliverTransport(req: IncomingMessage, kind: 'reset' | 'hang'): void {
    if (kind === 'reset') req.socket.resetAndDestroy();
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

function parseBody(req: IncomingMessage, body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const text = body.toString('utf8');
  const looksJson = type.includes('json') || (!type.includes('form') && /^\s*\{/.test(text));
  if (!looksJson) return parseStr(text);
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SyntaxError('The JSON body must be an object');
  }
  return parsed as Record<string, unknown>;
}

function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body), JSON_TYPE);
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** A valid JSON answer of about `bytes` bytes, streamed with back-pressure. */
async function streamHugeBody(
  res: ServerResponse,
  bytes: number,
  signal: AbortSignal,
): Promise<void> {
  const row = JSON.stringify({
    ID: '1',
    TIMESTAMP_X: '2024-07-18T12:32:31+03:00',
    EVENT_NAME: 'ONCRMLEADADD',
    EVENT_DATA: { FIELDS: { ID: 1 }, PADDING: 'x'.repeat(900) },
    EVENT_ADDITIONAL: { user_id: '1' },
    MESSAGE_ID: '0'.repeat(32),
    PROCESS_ID: '',
    ERROR: '0',
  });
  const chunk = `${row},`.repeat(64);
  res.writeHead(200, { 'content-type': JSON_TYPE });
  let written = 0;
  res.write('{"result":[');
  while (written + chunk.length < bytes && !res.destroyed && !signal.aborted) {
    written += chunk.length;
    if (!res.write(chunk)) await drainedOrClosed(res);
  }
  if (!res.destroyed) res.end(`${row}],"total":1,"time":{"start":0,"finish":0}}`);
}
