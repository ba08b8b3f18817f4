/**
 * The REST client of one portal: its options and their defaults, and `call`, the read-only
 * allow-list and answer validation around one logical request. The request itself (token,
 * throttling, refresh, retries) is send.ts; the `batch` call is batch.ts.
 */
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import { assertCallable, assertRawBatchParams } from './allowList.js';
import { OperatingResets, parseAnswer } from './answers.js';
import { runBatch } from './batch.js';
import { type Clock, systemClock } from './clock.js';
import { RateLimiter } from './rateLimiter.js';
import { DEFAULT_RETRY_POLICY } from './retry.js';
import { RestAnswer } from './schemas.js';
import { createSend, type Limiter } from './send.js';
import type { TokenManager } from './tokens.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUTS, type Timeouts } from './httpExchange.js';
import type {
  CallAnswer,
  CallOptions,
  ClientObserver,
  Params,
  ReadOnlyMethod,
  RestClient,
} from './types.js';

export interface RestClientOptions {
  /** The portal's REST endpoint (`client_endpoint`), ending with `/`. */
  readonly restUrl: string;
  /** Holds and refreshes the portal's token pair (and owns the OAuth settings). */
  readonly tokens: TokenManager;
  readonly observer: ClientObserver;
  /** Retries and per-command problems are logged here (static messages, data in fields). */
  readonly logger: Logger;
  /**
   * @default a new undici Agent with `timeouts.connectMs` as connect timeout, closed by
   * `close()`. A dispatcher passed in keeps its own connect timeout and is not closed.
   */
  readonly dispatcher?: Dispatcher | undefined;
  /** @default new RateLimiter({ clock }) (the configuration's default rate) */
  readonly limiter?: Limiter | undefined;
  /** @default systemClock (Date.now and timers) */
  readonly clock?: Clock | undefined;
  /** Source of the ±10 % retry jitter, in [0, 1). @default Math.random */
  readonly random?: (() => number) | undefined;
  /** @default DEFAULT_TIMEOUTS: connect 10 s, headers 30 s, body 30 s, total 60 s */
  readonly timeouts?: Partial<Timeouts> | undefined;
  /** Retries after the first failure of one call. @default 3 */
  readonly maxRetries?: number | undefined;
  /** Largest answer body read. @default 8 MiB */
  readonly maxBodyBytes?: number | undefined;
  /** Longest retry wait when a call has no `deadline`. @default 30000 */
  readonly maxWaitMs?: number | undefined;
  /** Wait after 429 when no `operating_reset_at` is known. @default 10000 */
  readonly operatingFallbackMs?: number | undefined;
  /**
   * `auth_connector` of the queue to read. The portal takes it from the top level of the HTTP
   * request only (inside `batch` a command's own is ignored), so it goes on every request the
   * client sends, `batch` included, and never into a command. @default none
   */
  readonly authConnector?: string | undefined;
}

/** The RestClient, plus `close()` for the agent it may have created. */
export interface B24RestClient extends RestClient {
  /** Closes the dispatcher the client created (not one passed in). Idempotent. */
  close(): Promise<void>;
}

export function createRestClient(options: RestClientOptions): B24RestClient {
  const clock = options.clock ?? systemClock;
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const ownAgent =
    options.dispatcher === undefined ? new Agent({ connectTimeout: timeouts.connectMs }) : null;
  const limiter = options.limiter ?? new RateLimiter({ clock });
  const { observer } = options;
  const resets = new OperatingResets();
  const send = createSend({
    restUrl: options.restUrl,
    tokens: options.tokens,
    limiter,
    observer,
    logger: options.logger,
    transport: {
      dispatcher: options.dispatcher ?? ownAgent ?? undefined,
      timeouts,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    },
    policy: {
      maxRetries: options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries,
      drainPerSecond: limiter.drainPerSecond,
      maxWaitMs: options.maxWaitMs ?? DEFAULT_RETRY_POLICY.maxWaitMs,
      operatingFallbackMs: options.operatingFallbackMs ?? DEFAULT_RETRY_POLICY.operatingFallbackMs,
    },
    clock,
    random: options.random ?? Math.random,
    resets,
    topLevel: options.authConnector === undefined ? {} : { auth_connector: options.authConnector },
  });

  async function call(method: ReadOnlyMethod, params: Params, opts: CallOptions = {}) {
    assertCallable(method);
    if (method === 'batch') assertRawBatchParams(params);
    const answer = parseAnswer(RestAnswer, await send(method, params, opts), method);
    resets.note(method, answer.time);
    if (answer.time?.operating !== undefined) observer.operating(method, answer.time.operating);
    return {
      result: answer.result,
      ...(answer.total === undefined ? {} : { total: answer.total }),
      ...(answer.next === undefined ? {} : { next: answer.next }),
      ...(answer.time === undefined ? {} : { time: answer.time }),
    } satisfies CallAnswer;
  }

  let closed: Promise<void> | undefined;
  return {
    call,
    batch: (commands, opts = {}) => runBatch(commands, opts, { send, resets, observer }),
    close: () => (closed ??= ownAgent ? ownAgent.close() : Promise.resolve()),
  };
}
