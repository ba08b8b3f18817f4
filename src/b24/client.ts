/**
 * The REST client of one portal: the read-only allow-list, throttling, token refresh, retries,
 * answer validation and the observer hooks, around one HTTP exchange per attempt.
 */
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import type { z } from 'zod';
import {
  assertBatchable,
  assertBatchLength,
  assertCallable,
  assertRawBatchParams,
} from './allowList.js';
import { abortedError, type Clock, systemClock } from './clock.js';
import {
  AbortedError,
  ApiError,
  AuthError,
  BadResponseError,
  NetworkError,
  TimeoutError,
} from './errors.js';
import { buildQuery } from './query.js';
import { redact } from './redact.js';
import { RateLimiter } from './rateLimiter.js';
import { decideRetry, DEFAULT_RETRY_POLICY } from './retry.js';
import { type ApiTime, BatchEnvelope, RestAnswer } from './schemas.js';
import type { TokenManager } from './tokens.js';
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_TIMEOUTS,
  repeatableApiCode,
  postRest,
  type Timeouts,
  type TransportOptions,
} from './transport.js';
import type {
  BatchAnswer,
  BatchCommand,
  CallAnswer,
  CallOptions,
  ClientObserver,
  Params,
  ReadOnlyMethod,
  RestClient,
} from './types.js';

/** Refreshes one call may make when the pair is shared and other holders refresh it too. */
const SHARED_REFRESHES_PER_CALL = 4;

/** What the client needs from a limiter; a RateLimiter may be shared by several clients. */
interface Limiter {
  acquire(signal?: AbortSignal): Promise<void>;
  /** The base of the QUERY_LIMIT_EXCEEDED backoff. */
  readonly drainPerSecond: number;
}

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

/** The code a failed HTTP exchange is counted under in `restError` (undefined: not counted). */
function countedCodeOf(error: unknown): string | undefined {
  if (error instanceof ApiError) return error.apiCode;
  if (error instanceof NetworkError) return error.netCode;
  if (error instanceof TimeoutError) return 'TIMEOUT';
  if (error instanceof BadResponseError) return 'BAD_RESPONSE';
  return undefined;
}

/** 401 `expired_token` / `invalid_token`: the access token, not the application, is refused. */
function isTokenRefusal(error: unknown): error is ApiError {
  return (
    error instanceof ApiError &&
    (error.apiCode === 'expired_token' || error.apiCode === 'invalid_token')
  );
}

/**
 * The answer validated by `schema`, or a BadResponseError naming where it went wrong. Paths
 * are built from the answer's own keys, which a portal may have filled with what it was sent:
 * the token is redacted from them.
 */
function parseAnswer<T extends z.ZodType>(
  schema: T,
  { json, token }: Sent,
  method: string,
): z.output<T> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const where = [
    ...new Set(parsed.error.issues.map((i) => redact(i.path.join('.'), [token]) || '(root)')),
  ];
  throw new BadResponseError(method, `unexpected shape at ${where.slice(0, 5).join(', ')}`);
}

/**
 * A 429 carries no `time`: the reset the last good answer gave is added to the error, so the
 * poller knows how long the portal's polls are pointless.
 */
function withKnownReset(error: unknown, known: number | undefined): unknown {
  if (
    !(error instanceof ApiError) ||
    error.reason !== 'operating_limit' ||
    error.operatingResetAt !== undefined ||
    known === undefined
  ) {
    return error;
  }
  return new ApiError(error.method, error.statusCode, error.apiCode, '', error.reason, {
    cause: error.cause,
    operatingResetAt: known,
  });
}

/** What one logical request brought back, and the access token it was sent with. */
interface Sent {
  readonly json: unknown;
  readonly token: string;
}

export function createRestClient(options: RestClientOptions): B24RestClient {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const ownAgent =
    options.dispatcher === undefined ? new Agent({ connectTimeout: timeouts.connectMs }) : null;
  const transport: TransportOptions = {
    dispatcher: options.dispatcher ?? ownAgent ?? undefined,
    timeouts,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
  };
  const limiter = options.limiter ?? new RateLimiter({ clock });
  const policy = {
    maxRetries: options.maxRetries ?? DEFAULT_RETRY_POLICY.maxRetries,
    drainPerSecond: limiter.drainPerSecond,
    maxWaitMs: options.maxWaitMs ?? DEFAULT_RETRY_POLICY.maxWaitMs,
    operatingFallbackMs: options.operatingFallbackMs ?? DEFAULT_RETRY_POLICY.operatingFallbackMs,
  };
  const { tokens, observer, logger, restUrl } = options;
  const topLevel: Params =
    options.authConnector === undefined ? {} : { auth_connector: options.authConnector };
  /** Last `operating_reset_at` seen per method: when a 429 does not say, this does. */
  const resetAt = new Map<string, number>();

  function noteTime(method: string, time: ApiTime | undefined): void {
    if (time?.operating_reset_at !== undefined) resetAt.set(method, time.operating_reset_at);
  }

  /**
   * One logical request: HTTP attempts until an answer, a refusal or the retry budget's end.
   * A refresh after `expired_token`/`invalid_token` is not a retry: it has no wait and happens
   * once per call (twice when the fresh token too answers `expired_token`); another refusal
   * means the new token is no good either.
   */
  async function send(method: string, params: Params, call: CallOptions): Promise<Sent> {
    const { signal, deadline } = call;
    let attempt = 0;
    let staleToken: string | undefined;
    let refreshes = 0;
    for (;;) {
      let token: string | undefined;
      let sent = false;
      try {
        if (signal?.aborted) throw abortedError(signal);
        token =
          staleToken === undefined
            ? await tokens.accessToken(signal)
            : await tokens.refresh(staleToken, signal);
        staleToken = undefined;
        await limiter.acquire(signal);
        observer.request(method);
        sent = true;
        const json = await postRest(
          restUrl,
          method,
          { ...params, ...topLevel },
          token,
          transport,
          signal,
        );
        return { json, token };
      } catch (error) {
        if (error instanceof AbortedError) throw error;
        if (signal?.aborted) throw abortedError(signal);
        const code = countedCodeOf(error);
        if (sent && code !== undefined) observer.restError(method, code);
        if (sent && isTokenRefusal(error)) {
          // a pair another holder stored (shared token store) was never tried: it gets its own refresh
          // A fresh token answered `expired_token` may really have expired while this call
          // waited out retries (or a portal's clock says so): one more refresh. With a shared
          // pair another holder may have refreshed meanwhile, which ends this process's fresh
          // token: a few more. Any other refusal of a fresh token means the pair is no good.
          const mayRefreshAgain =
            refreshes === 0 ||
            tokens.takenFromStore(token) ||
            (refreshes === 1 && error.apiCode === 'expired_token') ||
            (tokens.shared && refreshes < SHARED_REFRESHES_PER_CALL);
          if (!mayRefreshAgain) {
            throw new AuthError(
              error.apiCode,
              `The portal refused a freshly refreshed access token (${error.apiCode}). The ` +
                `application may have been removed or its access revoked: an administrator ` +
                `must re-authorize it on the portal.`,
              { cause: error },
            );
          }
          refreshes++;
          staleToken = token;
          continue;
        }
        if (call.retryTimeouts === false && error instanceof TimeoutError) throw error;
        const decision = decideRetry({
          attempt,
          error,
          now: clock.now(),
          deadline,
          operatingResetAt:
            (error instanceof ApiError ? error.operatingResetAt : undefined) ?? resetAt.get(method),
          random: random(),
          policy,
        });
        if (!decision.retry) throw withKnownReset(error, resetAt.get(method));
        attempt += 1;
        logger.warn(
          { method, code, attempt, delayMs: decision.delayMs, retryClass: decision.retryClass },
          'Retrying Bitrix24 request',
        );
        await clock.sleep(decision.delayMs, signal);
      }
    }
  }

  async function call(method: ReadOnlyMethod, params: Params, opts: CallOptions = {}) {
    assertCallable(method);
    if (method === 'batch') assertRawBatchParams(params);
    const answer = parseAnswer(RestAnswer, await send(method, params, opts), method);
    noteTime(method, answer.time);
    if (answer.time?.operating !== undefined) observer.operating(method, answer.time.operating);
    return {
      result: answer.result,
      ...(answer.total === undefined ? {} : { total: answer.total }),
      ...(answer.next === undefined ? {} : { next: answer.next }),
      ...(answer.time === undefined ? {} : { time: answer.time }),
    } satisfies CallAnswer;
  }

  async function batch(
    commands: Readonly<Record<string, BatchCommand>>,
    opts: CallOptions = {},
  ): Promise<BatchAnswer> {
    const entries = Object.entries(commands);
    assertBatchLength(entries.length);
    for (const [, command] of entries) assertBatchable(command.method);
    if (entries.length === 0) {
      return { result: {}, resultError: {}, resultTotal: {}, resultNext: {}, resultTime: {} };
    }
    const cmd = Object.fromEntries(
      entries.map(([name, { method, params }]) => {
        const query = buildQuery(params);
        return [name, query === '' ? method : `${method}?${query}`];
      }),
    );
    const sent = await send('batch', { cmd, halt: 0 }, opts);
    const envelope = parseAnswer(BatchEnvelope, sent, 'batch');
    noteTime('batch', envelope.time);
    if (envelope.time?.operating !== undefined)
      observer.operating('batch', envelope.time.operating);

    const { result, result_total, result_next, result_time } = envelope.result;
    // A command's error is text from the portal, quoted in messages and used as a metric
    // label: like a whole answer's error (transport.ts), it may echo the token it was sent.
    // Each command counts toward its own method's operating time; report the highest figure
    // the answer gives per method (commands of one method report nearly the same).
    const operating = new Map<string, number>();
    for (const [name, time] of Object.entries(result_time)) {
      const method = commands[name]?.method;
      if (method === undefined) continue;
      noteTime(method, time);
      if (time.operating !== undefined) {
        operating.set(method, Math.max(operating.get(method) ?? 0, time.operating));
      }
    }
    const result_error = Object.fromEntries(
      Object.entries(envelope.result.result_error).map(([name, failure]) => {
        const code = repeatableApiCode(failure.error, [sent.token]);
        // A command refused for its operating time says nothing of the reset: the last good
        // answer of its method did.
        const reset =
          code === 'OPERATION_TIME_LIMIT'
            ? resetAt.get(commands[name]?.method ?? 'batch')
            : undefined;
        return [
          name,
          {
            ...failure,
            error: code,
            ...(failure.error_description === undefined
              ? {}
              : { error_description: redact(failure.error_description, [sent.token]) }),
            ...(reset === undefined ? {} : { operatingResetAt: reset }),
          },
        ];
      }),
    );
    for (const [method, seconds] of operating) observer.operating(method, seconds);
    for (const [name, failure] of Object.entries(result_error)) {
      observer.restError(commands[name]?.method ?? 'batch', failure.error);
    }
    return {
      result,
      resultError: result_error,
      resultTotal: result_total,
      resultNext: result_next,
      resultTime: result_time,
    };
  }

  let closed: Promise<void> | undefined;
  return {
    call,
    batch,
    close: () => (closed ??= ownAgent ? ownAgent.close() : Promise.resolve()),
  };
}
