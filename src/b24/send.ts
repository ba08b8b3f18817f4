/**
 * One logical request: HTTP attempts until an answer, a refusal or the retry budget's end.
 * Each attempt is decorated with the call's authorization (the access token, and the
 * `auth_connector` of the queue read), waits for the client-side bucket, and is counted by the
 * observer. A refused access token is refreshed (tokenRefusal.ts); other failures go through
 * the retry policy (retry.ts).
 */
import type { Logger } from 'pino';
import type { OperatingResets, Sent } from './answers.js';
import { abortedError, type Clock } from './clock.js';
import { AbortedError, ApiError, BadResponseError, NetworkError, TimeoutError } from './errors.js';
import { decideRetry, type RetryPolicy } from './retry.js';
import { assertMayRefreshAgain, isTokenRefusal } from './tokenRefusal.js';
import type { TokenManager } from './tokens.js';
import type { TransportOptions } from './httpExchange.js';
import { postRest } from './postRest.js';
import type { CallOptions, ClientObserver, Params } from './types.js';

/** What the client needs from a limiter; a RateLimiter may be shared by several clients. */
export interface Limiter {
  acquire(signal?: AbortSignal): Promise<void>;
  /** The base of the QUERY_LIMIT_EXCEEDED backoff. */
  readonly drainPerSecond: number;
}

export interface SendDeps {
  readonly restUrl: string;
  readonly tokens: TokenManager;
  readonly limiter: Limiter;
  readonly observer: ClientObserver;
  readonly logger: Logger;
  readonly transport: TransportOptions;
  readonly policy: RetryPolicy;
  readonly clock: Clock;
  readonly random: () => number;
  readonly resets: OperatingResets;
  /**
   * Parameters every request carries on its top level (`auth_connector`): the portal reads
   * them there only, `batch` included.
   */
  readonly topLevel: Params;
}

export type Send = (method: string, params: Params, call: CallOptions) => Promise<Sent>;

/** The code a failed HTTP exchange is counted under in `restError` (undefined: not counted). */
function countedCodeOf(error: unknown): string | undefined {
  if (error instanceof ApiError) return error.apiCode;
  if (error instanceof NetworkError) return error.netCode;
  if (error instanceof TimeoutError) return 'TIMEOUT';
  if (error instanceof BadResponseError) return 'BAD_RESPONSE';
  return undefined;
}

/**
 * The client's `send`. A refresh after `expired_token`/`invalid_token` is not a retry: it has
 * no wait and happens once per call (more only as tokenRefusal.ts allows).
 */
export function createSend(deps: SendDeps): Send {
  const { tokens, limiter, observer, logger, resets, clock } = deps;
  return async function send(method, params, call) {
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
        const decorated = { ...params, ...deps.topLevel };
        const json = await postRest(deps.restUrl, method, decorated, token, deps.transport, signal);
        return { json, token };
      } catch (error) {
        if (error instanceof AbortedError) throw error;
        if (signal?.aborted) throw abortedError(signal);
        const code = countedCodeOf(error);
        if (sent && code !== undefined) observer.restError(method, code);
        if (sent && token !== undefined && isTokenRefusal(error)) {
          assertMayRefreshAgain(error, token, refreshes, tokens);
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
            (error instanceof ApiError ? error.operatingResetAt : undefined) ?? resets.of(method),
          random: deps.random(),
          policy: deps.policy,
        });
        if (!decision.retry) throw resets.withKnownReset(error, method);
        attempt += 1;
        logger.warn(
          { method, code, attempt, delayMs: decision.delayMs, retryClass: decision.retryClass },
          'Retrying Bitrix24 request',
        );
        await clock.sleep(decision.delayMs, signal);
      }
    }
  };
}
