/**
 * When to try a failed request again, and after how long. A pure function of its input (no
 * clock, no randomness of its own, no I/O), so every rule is a one-line table test.
 */
import { ApiError, NetworkError, TimeoutError } from './errors.js';

/**
 * - `query_limit`: 503 QUERY_LIMIT_EXCEEDED, the portal's request bucket is full;
 * - `operating_limit`: 429 OPERATION_TIME_LIMIT, the method used its server time until a reset;
 * - `transient`: server faults, connection failures and timeouts;
 * - `fatal`: everything else (auth, bad requests, bad answers, OVERLOAD_LIMIT, aborts).
 */
export type RetryClass = 'query_limit' | 'operating_limit' | 'transient' | 'fatal';

export interface RetryPolicy {
  /** Retries after the first failure. @default 3 */
  readonly maxRetries: number;
  /** Drain rate of the client-side bucket, the base of the QUERY_LIMIT_EXCEEDED backoff. @default 1 */
  readonly drainPerSecond: number;
  /** Longest wait when the call has no deadline of its own. @default 30000 */
  readonly maxWaitMs: number;
  /** Wait after 429 when no `operating_reset_at` is known. @default 10000 */
  readonly operatingFallbackMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 3,
  drainPerSecond: 1,
  maxWaitMs: 30_000,
  operatingFallbackMs: 10_000,
};

export interface RetryInput {
  /** Retries already made for this call: 0 after the first failure. */
  readonly attempt: number;
  readonly error: unknown;
  /** Unix ms. */
  readonly now: number;
  /** Unix ms by which the call must be over; a wait ending later is not started. */
  readonly deadline?: number | undefined;
  /** Unix seconds when the method's operating time resets (from the 429 or the last answer). */
  readonly operatingResetAt?: number | undefined;
  /** A number in [0, 1), for the ±10 % jitter. */
  readonly random: number;
  readonly policy?: Partial<RetryPolicy>;
}

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number; readonly retryClass: RetryClass }
  | { readonly retry: false; readonly retryClass: RetryClass };

/** Server faults worth another try. PORTAL_DELETED (also a 500) is not among them. */
const TRANSIENT_API_CODES: ReadonlySet<string> = new Set([
  'INTERNAL_SERVER_ERROR',
  'ERROR_UNEXPECTED_ANSWER',
  'HTTP_500',
  'HTTP_502',
  'HTTP_503',
  'HTTP_504',
]);

/** System and undici codes of a connection that failed or broke, not of a wrong request. */
const TRANSIENT_NET_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'SOCKET_HANG_UP',
]);

export function retryClass(error: unknown): RetryClass {
  if (error instanceof ApiError) {
    if (error.apiCode === 'QUERY_LIMIT_EXCEEDED') return 'query_limit';
    if (error.apiCode === 'OPERATION_TIME_LIMIT') return 'operating_limit';
    return TRANSIENT_API_CODES.has(error.apiCode) ? 'transient' : 'fatal';
  }
  if (error instanceof NetworkError) {
    return TRANSIENT_NET_CODES.has(error.netCode) ? 'transient' : 'fatal';
  }
  if (error instanceof TimeoutError) return 'transient';
  return 'fatal';
}

/** `base` moved by up to ±10 %: clients that failed together do not come back together. */
function jitter(base: number, random: number): number {
  return Math.round(base * (1 + (random * 2 - 1) * 0.1));
}

function baseDelay(input: RetryInput, cls: RetryClass, policy: RetryPolicy): number | null {
  switch (cls) {
    case 'query_limit':
      return jitter((1000 / policy.drainPerSecond + 1000) * 1.5 ** input.attempt, input.random);
    case 'operating_limit':
      if (input.operatingResetAt === undefined) return policy.operatingFallbackMs;
      return Math.max(1000, input.operatingResetAt * 1000 - input.now);
    case 'transient':
      return jitter(Math.min(30_000, 1000 * 2 ** input.attempt), input.random);
    case 'fatal':
      return null;
  }
}

/**
 * Decides whether to retry. A wait that would end after the deadline (or, without one, last
 * longer than `maxWaitMs`) is not started: waiting for an abort would only hide the real
 * reason of the failure (e.g. `operating_limit`).
 */
export function decideRetry(input: RetryInput): RetryDecision {
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...input.policy };
  const cls = retryClass(input.error);
  if (input.attempt >= policy.maxRetries) return { retry: false, retryClass: cls };
  const delayMs = baseDelay(input, cls, policy);
  if (delayMs === null) return { retry: false, retryClass: cls };
  const room = input.deadline === undefined ? policy.maxWaitMs : input.deadline - input.now;
  if (delayMs > room) return { retry: false, retryClass: cls };
  return { retry: true, delayMs, retryClass: cls };
}
