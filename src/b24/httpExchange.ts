/**
 * One HTTP exchange with a JSON answer: the request sent, the answer read within its timeouts
 * and size cap. No retries, no tokens logic: the client decides what to do with what this
 * returns or throws (exchangeFailure.ts names a failed exchange).
 */
import { type Dispatcher, request } from 'undici';
import { abortedError } from './clock.js';
import { BadResponseError, MonitorError } from './errors.js';
import { exchangeFailure, hostOf } from './exchangeFailure.js';

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
    throw exchangeFailure(
      error,
      { label: req.label, host, secrets: req.secrets },
      timedOut,
      timeouts.totalMs,
    );
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
