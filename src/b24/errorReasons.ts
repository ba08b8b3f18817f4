/**
 * Bitrix24's error codes: who must act on each (the `reason` label), and a code as the monitor
 * may repeat it in a message or a metric label.
 */
import type { FailureReason } from './errors.js';
import { redact } from './redact.js';

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
