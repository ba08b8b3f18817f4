/**
 * Test helpers: a simulated server on 127.0.0.1:0 with a manual clock, and a small REST
 * client speaking to it over real HTTP (JSON, form or GET), with a keep-alive agent that does
 * not hold the process open.
 */
import { Agent, request } from 'undici';
import { buildQuery } from '../../src/php/buildQuery.js';
import { ManualClock, SimServer } from '../../src/sim/index.js';
import type { OfflineRowJson, SimPortal, SimServerOptions } from '../../src/sim/index.js';

export interface Harness {
  readonly server: SimServer;
  readonly clock: ManualClock;
  readonly agent: Agent;
  close(): Promise<void>;
}

export async function startSim(options: SimServerOptions = {}): Promise<Harness> {
  const clock = new ManualClock();
  const server = await SimServer.start({ clock, ...options });
  const agent = new Agent({ keepAliveTimeout: 10, keepAliveMaxTimeout: 10 });
  return {
    server,
    clock,
    agent,
    async close() {
      await server.close();
      await agent.destroy();
    },
  };
}

export type Transport = 'json' | 'form' | 'get';

/** What tests read of an answer; everything is optional because error answers differ. */
interface ApiBody {
  readonly result?: unknown;
  readonly total?: unknown;
  readonly next?: unknown;
  readonly time?: Record<string, unknown>;
  readonly error?: string;
  readonly error_description?: string;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: ApiBody;
  readonly text: string;
}

export interface CallOptions {
  readonly token?: string;
  readonly transport?: Transport;
}

/** Calls `<restUrl><method>` with `auth` = token, over real HTTP. */
export async function rest(
  agent: Agent,
  portal: SimPortal,
  method: string,
  params: Record<string, unknown> = {},
  options: CallOptions = {},
): Promise<ApiAnswer> {
  const all = options.token === undefined ? params : { ...params, auth: options.token };
  return send(agent, `${portal.restUrl}${method}`, all, options.transport ?? 'json');
}

export async function send(
  agent: Agent,
  url: string,
  params: Record<string, unknown>,
  transport: Transport,
): Promise<ApiAnswer> {
  const query = buildQuery(params);
  const response =
    transport === 'get'
      ? await request(query === '' ? url : `${url}?${query}`, { dispatcher: agent })
      : await request(url, {
          method: 'POST',
          dispatcher: agent,
          headers: {
            'content-type':
              transport === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
          },
          body: transport === 'json' ? JSON.stringify(params) : query,
        });
  const text = await response.body.text();
  let body: ApiBody = {};
  try {
    body = JSON.parse(text) as ApiBody;
  } catch {
    // malformed on purpose in fault tests
  }
  return { status: response.statusCode, body, text };
}

export function rowsOf(answer: ApiAnswer): OfflineRowJson[] {
  return answer.body.result as OfflineRowJson[];
}

export function idsOf(answer: ApiAnswer): number[] {
  return rowsOf(answer).map((row) => Number(row.ID));
}

export interface BatchResult {
  readonly result: unknown;
  readonly result_error: unknown;
  readonly result_total: unknown;
  readonly result_next: unknown;
  readonly result_time: unknown;
}

export function batchOf(answer: ApiAnswer): BatchResult {
  return answer.body.result as BatchResult;
}

/** A portal with no rate limit and a few bound events, plus an admin token labelled 'monitor'. */
export function monitoredPortal(
  harness: Harness,
  id = 'portal',
  options: Parameters<SimServer['addPortal']>[1] = {},
): { portal: SimPortal; token: string } {
  const portal = harness.server.addPortal(id, { rateLimit: null, ...options });
  return { portal, token: portal.authorize('monitor').accessToken };
}

/** The keys of an answer's `time`, in the server's order, without the operating figures. */
export const TIME_KEYS = [
  'start',
  'finish',
  'duration',
  'processing',
  'date_start',
  'date_finish',
] as const;

/** `time` while the operating-time limiter is active (the last two keys only then). */
export const TIME_KEYS_OPERATING = [...TIME_KEYS, 'operating', 'operating_reset_at'] as const;

/** The `refresh_token` grant for a portal's own application, as the monitor sends it (GET). */
export async function refreshPair(
  sim: Harness,
  portal: SimPortal,
  refreshToken: string,
): Promise<ApiAnswer> {
  return send(
    sim.agent,
    sim.server.oauthUrl,
    {
      grant_type: 'refresh_token',
      client_id: portal.clientId,
      client_secret: portal.clientSecret,
      refresh_token: refreshToken,
    },
    'get',
  );
}

/** One keyset page, as the monitor's scan asks for it: rows after ID `last`, by ID, `start: -1`. */
export async function keysetPage(
  sim: Harness,
  portal: SimPortal,
  last: number,
  token: string,
): Promise<ApiAnswer> {
  return rest(
    sim.agent,
    portal,
    'event.offline.list',
    { filter: { '>ID': last }, order: { ID: 'ASC' }, start: -1 },
    { token },
  );
}
