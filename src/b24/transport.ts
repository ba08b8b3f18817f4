/**
 * One HTTP exchange with a JSON answer, and its failures as typed errors. No retries, no tokens
 * logic: the client decides what to do with what this returns or throws.
 *
 * Messages name the host at most, never the URL: a REST URL may be a webhook URL with its
 * secret in the path, and the OAuth URL carries the client secret and refresh token.
 */
import { type Dispatcher, request } from 'undici';
import { z } from 'zod';
import { abortedError } from './clock.js';
import {
  ApiError,
  BadResponseError,
  type FailureReason,
  MonitorError,
  NetworkError,
  TimeoutError,
} from './errors.js';
import { redact } from './redact.js';
import { ApiTime } from './schemas.js';

export interface Timeouts {
  /** TCP/TLS connect. Only for the dispatcher the client creates itself. @default 10000 */
  readonly connectMs: number;
  /** From sending the request to the answer's headers. @default 30000 */
  readonly headersMs: number;
  /** Longest pause between two chunks of the answer's body. @default 30000 */
  readonly bodyMs: number;
  /** The whole exchange, from sending to the last byte (Bitrix24 cuts a request at 60 s). @default 60000 */
  readonly totalMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = {
  connectMs: 10_000,
  headersMs: 30_000,
  bodyMs: 30_000,
  totalMs: 60_000,
};

/** Largest answer body read; a larger one is cut off. @default 8 MiB */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface TransportOptions {
  /** @default undici's global dispatcher */
  readonly dispatcher?: Dispatcher | undefined;
  readonly timeouts: Timeouts;
  readonly maxBodyBytes: number;
}

export interface JsonRequest {
  readonly url: string;
  readonly httpMethod: 'GET' | 'POST';
  readonly body?: string;
  /** What the request is for, in messages: a REST method name or `oauth/token`. */
  readonly label: string;
  /** Values to scrub from any text quoted in a message. */
  readonly secrets: readonly (string | undefined)[];
}

export interface JsonAnswer {
  readonly status: number;
  /** The parsed body, or `undefined` when it was empty or not JSON. */
  readonly json: unknown;
}

/** The code of an error that is neither ours nor the caller's abort: `ECONNRESET`, `UND_ERR_…`. */
function systemCode(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  if (error instanceof Error && /socket hang up/i.test(error.message)) return 'SOCKET_HANG_UP';
  return 'UNKNOWN';
}

const UNDICI_TIMEOUTS: Readonly<Record<string, string>> = {
  UND_ERR_CONNECT_TIMEOUT: 'no connection',
  UND_ERR_HEADERS_TIMEOUT: 'no answer headers',
  UND_ERR_BODY_TIMEOUT: 'the answer body stalled',
};

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the server';
  }
}

async function readCapped(
  body: Dispatcher.ResponseData['body'],
  max: number,
  label: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > max) {
      body.destroy();
      throw new BadResponseError(label, `answer larger than ${max} bytes; not read further`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Sends one request and reads a JSON answer of at most `maxBodyBytes`. Throws TimeoutError,
 * NetworkError (with the system code), AbortedError when `signal` aborts, or BadResponseError
 * for an oversized body. HTTP error statuses are returned, not thrown.
 */
export async function exchangeJson(
  req: JsonRequest,
  options: TransportOptions,
  signal?: AbortSignal,
): Promise<JsonAnswer> {
  if (signal?.aborted) throw abortedError(signal);
  const { timeouts } = options;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeouts.totalMs);
  const onAbort = (): void => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const host = hostOf(req.url);
  try {
    const response = await request(req.url, {
      method: req.httpMethod,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      headers: {
        accept: 'application/json',
        'user-agent': 'b24-offline-monitor',
        ...(req.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(req.body === undefined ? {} : { body: req.body }),
      signal: controller.signal,
      headersTimeout: timeouts.headersMs,
      bodyTimeout: timeouts.bodyMs,
    });
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > options.maxBodyBytes) {
      response.body.destroy();
      throw new BadResponseError(
        req.label,
        `answer of ${declared} bytes is larger than ${options.maxBodyBytes}; not read`,
      );
    }
    const raw = await readCapped(response.body, options.maxBodyBytes, req.label);
    let json: unknown;
    try {
      json = raw.length === 0 ? undefined : JSON.parse(raw.toString('utf8'));
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, json };
  } catch (error) {
    if (error instanceof MonitorError) throw error;
    if (signal?.aborted) throw abortedError(signal);
    if (timedOut) {
      throw new TimeoutError(
        `Bitrix24 ${req.label} request to ${host}: no complete answer within ${timeouts.totalMs} ms`,
      );
    }
    const code = systemCode(error);
    const what = UNDICI_TIMEOUTS[code];
    if (what !== undefined) {
      throw new TimeoutError(
        `Bitrix24 ${req.label} request to ${host} timed out: ${what} (${code})`,
      );
    }
    const detail = error instanceof Error ? redact(error.message, req.secrets) : '';
    throw new NetworkError(
      code,
      `Bitrix24 ${req.label} request to ${host} failed: ${code}${detail ? ` (${detail})` : ''}`,
    );
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The error part of an answer. Bitrix24 sometimes sends a number as `error`. */
const ErrorAnswer = z
  .object({
    error: z.union([z.string().min(1), z.number()]).transform(String),
    error_description: z.string().optional().catch(undefined),
    time: ApiTime.optional().catch(undefined),
  })
  .loose();

const JsonObject = z.record(z.string(), z.unknown());

/**
 * Codes that say who must act, by the HTTP status they come with (`*`: any). Inside a `batch` a
 * command's error has no status of its own (200): the batch's token was accepted, so a
 * refusal there is about rights, not about the token.
 */
const REASON_BY_CODE: Readonly<Record<string, Readonly<Record<string, FailureReason>>>> = {
  // The token check refused the token: a refresh, a new authorization or the portal side.
  expired_token: { '*': 'auth' },
  invalid_token: { '*': 'auth' },
  NO_AUTH_FOUND: { '*': 'auth' },
  CONNECTION_ERROR: { '*': 'auth' },
  APPLICATION_NOT_FOUND: { '*': 'auth' },
  authorization_error: { '*': 'auth' },
  user_access_error: { '401': 'auth', '*': 'forbidden' },
  // 401 ACCESS_DENIED: REST only on commercial plans; 403: the user is not an administrator.
  ACCESS_DENIED: { '401': 'license', '*': 'forbidden' },
  WRONG_LICENSE: { '*': 'license' },
  PAYMENT_REQUIRED: { '*': 'payment' },
  WRONG_AUTH_TYPE: { '*': 'forbidden' },
  insufficient_scope: { '*': 'forbidden' },
  INVALID_CREDENTIALS: { '*': 'forbidden' },
  QUERY_LIMIT_EXCEEDED: { '*': 'rate_limit' },
  OVERLOAD_LIMIT: { '*': 'rate_limit' },
  OPERATION_TIME_LIMIT: { '*': 'operating_limit' },
};

/** Longest error code kept: codes are short words; anything longer is not a code. */
const MAX_CODE = 64;

/**
 * An error code from the portal as the monitor may repeat it — in a message and as the `code`
 * label of `b24_offline_rest_errors_total`: secrets it may echo redacted, cut to a code's length.
 */
export function repeatableApiCode(raw: string, secrets: readonly (string | undefined)[]): string {
  const code = redact(raw, secrets);
  return code.length > MAX_CODE ? `${code.slice(0, MAX_CODE)}…` : code;
}

/** The `reason` label a Bitrix24 error code (or a bare HTTP status) stands for. */
export function reasonFor(apiCode: string, status: number): FailureReason {
  const byStatus = REASON_BY_CODE[apiCode];
  if (byStatus !== undefined) return byStatus[String(status)] ?? byStatus['*'] ?? 'api_error';
  if (apiCode === `HTTP_${status}`) {
    if (status === 401) return 'auth';
    if (status === 403) return 'forbidden';
    if (status === 429) return 'rate_limit';
  }
  return 'api_error';
}

/**
 * Turns an answer into its JSON object or the ApiError it stands for: an `error` field wins
 * over the status; a non-2xx status without one is `HTTP_<status>`; a 2xx that is not a JSON
 * object is a BadResponseError.
 */
export function answerOrError(
  method: string,
  answer: JsonAnswer,
  secrets: readonly (string | undefined)[],
): Record<string, unknown> {
  const failed = ErrorAnswer.safeParse(answer.json);
  if (failed.success) {
    const { error: raw, error_description: description = '', time } = failed.data;
    const apiCode = repeatableApiCode(raw, secrets);
    throw new ApiError(
      method,
      answer.status,
      apiCode,
      redact(description, secrets),
      reasonFor(apiCode, answer.status),
      { operatingResetAt: time?.operating_reset_at },
    );
  }
  if (answer.status < 200 || answer.status > 299) {
    const apiCode = `HTTP_${answer.status}`;
    throw new ApiError(method, answer.status, apiCode, '', reasonFor(apiCode, answer.status));
  }
  if (answer.json === undefined) throw new BadResponseError(method, 'not JSON');
  const object = JsonObject.safeParse(answer.json);
  if (!object.success) throw new BadResponseError(method, 'not a JSON object');
  return object.data;
}

/**
 * POSTs `{...params, auth}` as JSON to `${restUrl}${method}` and returns the answer's JSON
 * object, or throws what `exchangeJson` and `answerOrError` throw.
 */
export async function postRest(
  restUrl: string,
  method: string,
  params: Readonly<Record<string, unknown>>,
  auth: string,
  options: TransportOptions,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const answer = await exchangeJson(
    {
      url: `${restUrl}${method}`,
      httpMethod: 'POST',
      body: JSON.stringify({ ...params, auth }),
      label: method,
      secrets: [auth],
    },
    options,
    signal,
  );
  return answerOrError(method, answer, [auth]);
}
