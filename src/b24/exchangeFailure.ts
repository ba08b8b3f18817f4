/**
 * A failed HTTP exchange as a typed error: a timeout (the exchange's own, or one of undici's)
 * or a network failure with its system code.
 *
 * Messages name the host at most, never the URL: a REST URL may be a webhook URL with its
 * secret in the path, and the OAuth URL carries the client secret and refresh token.
 */
import { NetworkError, TimeoutError } from './errors.js';
import { redact } from './redact.js';

/** The host of `url` for a message, or a stand-in when it cannot be parsed. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the server';
  }
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

/** What failed: the request's label, the host it went to, the values to scrub. */
export interface FailedExchange {
  readonly label: string;
  readonly host: string;
  readonly secrets: readonly (string | undefined)[];
}

/**
 * The error to throw for what the exchange threw (not a MonitorError, not the caller's
 * abort): TimeoutError when the whole exchange ran out of `totalMs` (`timedOut`) or undici
 * timed out, else NetworkError with the system code.
 */
export function exchangeFailure(
  error: unknown,
  what: FailedExchange,
  timedOut: boolean,
  totalMs: number,
): TimeoutError | NetworkError {
  const { label, host } = what;
  if (timedOut) {
    return new TimeoutError(
      `Bitrix24 ${label} request to ${host}: no complete answer within ${totalMs} ms`,
    );
  }
  const code = systemCode(error);
  const timeout = UNDICI_TIMEOUTS[code];
  if (timeout !== undefined) {
    return new TimeoutError(`Bitrix24 ${label} request to ${host} timed out: ${timeout} (${code})`);
  }
  const detail = error instanceof Error ? redact(error.message, what.secrets) : '';
  return new NetworkError(
    code,
    `Bitrix24 ${label} request to ${host} failed: ${code}${detail ? ` (${detail})` : ''}`,
  );
}
