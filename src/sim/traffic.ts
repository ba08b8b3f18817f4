/**
 * Live traffic for the demo and for end-to-end tests. Producers make events happen inside the
 * portal (some repeating a recent MESSAGE_ID, so rows merge). The consumer is the application
 * itself: with its OWN token pair (holder 'consumer') it calls the real HTTP API the way an
 * app does — `event.offline.get` with `clear=0`, then `event.offline.clear` for most rows,
 * `event.offline.error` for some, and leaves a few reserved (a crashed worker) — so the queue
 * shows all three statuses. It refreshes its tokens on `expired_token` like a real app.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { buildQuery } from '../php/buildQuery.js';
import type { SimPortal } from './portal.js';
import type { Random } from './random.js';
import { randomHex, randomInt, seededRandom } from './random.js';
import type { TokenPair } from './oauth.js';

interface ConsumerOptions {
  /**
   * Pause between cycles. A cycle costs 1–3 requests of the portal's budget (2/s by default),
   * which the monitor shares: keep the average well under it. @default 2000
   */
  readonly intervalMs: number;
  /** `limit` of each `event.offline.get`. @default 25 */
  readonly batchSize: number;
  /** Share of reserved rows reported with `event.offline.error`. @default 0.1 */
  readonly failRate: number;
  /** Share of reserved rows never cleared (they stay reserved). @default 0.05 */
  readonly leaveReservedRate: number;
  /** Every this many cycles, take back error rows (`error=1`, cleared); 0 = never. @default 20 */
  readonly retryErrorsEvery: number;
  /** Label of its token pair in the journal. @default 'consumer' */
  readonly holder: string;
}

export interface TrafficOptions {
  /** @default 5 */
  readonly eventsPerSecond?: number;
  /** @default DEFAULT_EVENT_NAMES */
  readonly eventNames?: readonly string[];
  /** Share of events that repeat a recent MESSAGE_ID. @default 0.1 */
  readonly repeatRate?: number;
  /** Producer tick. @default 100 */
  readonly tickMs?: number;
  /** Bind the event names offline first (when not bound yet). @default true */
  readonly bind?: boolean;
  /** The consuming application; false for none. @default the ConsumerOptions defaults */
  readonly consumer?: Partial<ConsumerOptions> | false;
  /** @default seededRandom(7) */
  readonly random?: Random;
}

interface TrafficStats {
  produced: number;
  merged: number;
  reserved: number;
  cleared: number;
  failed: number;
  leftReserved: number;
  retried: number;
  refreshes: number;
  /** Answers other than success (limits, faults...): the consumer skips the cycle. */
  consumerErrors: number;
}

export interface Traffic {
  readonly stats: Readonly<TrafficStats>;
  /** Stops producers and consumer; resolves once the consumer's last request is done. */
  stop(): Promise<void>;
}

export const DEFAULT_EVENT_NAMES = [
  'ONCRMLEADADD',
  'ONCRMLEADUPDATE',
  'ONCRMDEALADD',
  'ONCRMDEALUPDATE',
  'ONCRMCONTACTADD',
] as const;

const DEFAULT_CONSUMER: ConsumerOptions = {
  intervalMs: 2000,
  batchSize: 25,
  failRate: 0.1,
  leaveReservedRate: 0.05,
  retryErrorsEvery: 20,
  holder: 'consumer',
};

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export function startTraffic(portal: SimPortal, options: TrafficOptions = {}): Traffic {
  const random = options.random ?? seededRandom(7);
  const eventNames = options.eventNames ?? DEFAULT_EVENT_NAMES;
  const stats: TrafficStats = {
    produced: 0,
    merged: 0,
    reserved: 0,
    cleared: 0,
    failed: 0,
    leftReserved: 0,
    retried: 0,
    refreshes: 0,
    consumerErrors: 0,
  };
  if (options.bind !== false) {
    const bound = new Set(portal.bindings.offlineNames());
    for (const name of eventNames) if (!bound.has(name.toUpperCase())) portal.bind(name);
  }
  const stopProducer = startProducer(portal, eventNames, options, random, stats);
  const stopConsumer =
    options.consumer === false
      ? async () => {}
      : startConsumer(portal, { ...DEFAULT_CONSUMER, ...options.consumer }, random, stats);
  return {
    stats,
    async stop() {
      stopProducer();
      await stopConsumer();
    },
  };
}

function startProducer(
  portal: SimPortal,
  eventNames: readonly string[],
  options: TrafficOptions,
  random: Random,
  stats: TrafficStats,
): () => void {
  const perSecond = options.eventsPerSecond ?? 5;
  const repeatRate = options.repeatRate ?? 0.1;
  const recent: string[] = [];
  let carry = 0;
  let last = performance.now();
  const produce = (): void => {
    const eventName = eventNames[randomInt(random, 0, eventNames.length - 1)] ?? 'ONCRMLEADADD';
    const repeat = recent.length > 0 && random() < repeatRate;
    const messageId = repeat
      ? (recent[randomInt(random, 0, recent.length - 1)] ?? randomHex(random, 32))
      : randomHex(random, 32);
    const added = portal.add({
      eventName,
      messageId,
      data: { FIELDS: { ID: randomInt(random, 1, 100_000) } },
      additional: { user_id: String(randomInt(random, 1, 20)) },
    });
    stats.produced++;
    if (added.merged) stats.merged++;
    if (!repeat) {
      recent.push(messageId);
      if (recent.length > 100) recent.shift();
    }
  };
  const timer = setInterval(() => {
    const now = performance.now();
    carry += ((now - last) / 1000) * perSecond;
    last = now;
    for (; carry >= 1; carry--) produce();
  }, options.tickMs ?? 100);
  timer.unref();
  return () => clearInterval(timer);
}

function startConsumer(
  portal: SimPortal,
  options: ConsumerOptions,
  random: Random,
  stats: TrafficStats,
): () => Promise<void> {
  const agent = new Agent({ keepAliveTimeout: 1000, keepAliveMaxTimeout: 1000 });
  const aborter = new AbortController();
  const oauthUrl = new URL('/oauth/token/', portal.restUrl).toString();
  let tokens: TokenPair = portal.authorize(options.holder);

  const post = async (method: string, params: Record<string, unknown>): Promise<Answer> => {
    const response = await request(`${portal.restUrl}${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...params, auth: tokens.accessToken }),
      dispatcher: agent,
      signal: aborter.signal,
    });
    const body = (await response.body.json().catch(() => ({}))) as Record<string, unknown>;
    return { status: response.statusCode, body };
  };

  const refresh = async (): Promise<void> => {
    const query = buildQuery({
      grant_type: 'refresh_token',
      client_id: portal.clientId,
      client_secret: portal.clientSecret,
      refresh_token: tokens.refreshToken,
    });
    const response = await request(`${oauthUrl}?${query}`, {
      dispatcher: agent,
      signal: aborter.signal,
    });
    const body = (await response.body.json().catch(() => ({}))) as Record<string, unknown>;
    if (response.statusCode === 200 && typeof body['access_token'] === 'string') {
      tokens = {
        accessToken: body['access_token'],
        refreshToken: String(body['refresh_token']),
        expires: Number(body['expires']),
      };
      stats.refreshes++;
    } else if (body['error'] === 'invalid_grant') {
      tokens = portal.authorize(options.holder); // the app gets re-installed
    }
  };

  const call = async (method: string, params: Record<string, unknown>): Promise<Answer | null> => {
    let answer = await post(method, params);
    if (answer.status === 401 && answer.body['error'] === 'expired_token') {
      await refresh();
      answer = await post(method, params);
    }
    if (answer.status !== 200) {
      stats.consumerErrors++;
      return null;
    }
    return answer;
  };

  let cycles = 0;
  const cycle = async (): Promise<void> => {
    cycles++;
    if (options.retryErrorsEvery > 0 && cycles % options.retryErrorsEvery === 0) {
      const retried = await call('event.offline.get', {
        error: 1,
        clear: 1,
        limit: options.batchSize,
      });
      stats.retried += eventsOf(retried).length;
    }
    const got = await call('event.offline.get', { clear: 0, limit: options.batchSize });
    const events = eventsOf(got);
    const result = got?.body['result'] as { process_id?: unknown } | undefined;
    const processId = typeof result?.process_id === 'string' ? result.process_id : null;
    stats.reserved += events.length;
    if (processId === null || events.length === 0) return;
    const failed: string[] = [];
    const cleared: number[] = [];
    for (const event of events) {
      const draw = random();
      if (draw < options.leaveReservedRate) stats.leftReserved++;
      else if (draw < options.leaveReservedRate + options.failRate) failed.push(event.MESSAGE_ID);
      else cleared.push(Number(event.ID));
    }
    if (
      failed.length > 0 &&
      (await call('event.offline.error', { process_id: processId, message_id: failed }))
    ) {
      stats.failed += failed.length;
    }
    if (
      cleared.length > 0 &&
      (await call('event.offline.clear', { process_id: processId, id: cleared }))
    ) {
      stats.cleared += cleared.length;
    }
  };

  const loop = (async () => {
    while (!aborter.signal.aborted) {
      try {
        await cycle();
      } catch {
        if (aborter.signal.aborted) break;
        stats.consumerErrors++;
      }
      try {
        await sleep(options.intervalMs, undefined, { signal: aborter.signal });
      } catch {
        break;
      }
    }
  })();

  return async () => {
    aborter.abort();
    await loop;
    await agent.destroy();
  };
}

function eventsOf(answer: Answer | null): { ID: string; MESSAGE_ID: string }[] {
  const result = answer?.body['result'] as { events?: unknown } | undefined;
  return Array.isArray(result?.events)
    ? (result.events as { ID: string; MESSAGE_ID: string }[])
    : [];
}
