/**
 * Every error the monitor raises while talking to a portal. Each has a stable string `code`
 * (for tests and logs) and a `reason`, the value of the `reason` label of
 * `b24_offline_poll_failures_total`. Messages are static text plus safe details: never a
 * token, a client secret or a URL carrying either.
 */
export const FAILURE_REASONS = [
  'auth',
  'forbidden',
  'license',
  'payment',
  'rate_limit',
  'operating_limit',
  'timeout',
  'network',
  'api_error',
  'bad_response',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface MonitorErrorOptions {
  readonly cause?: unknown;
}

export class MonitorError extends Error {
  readonly code: string;
  readonly reason: FailureReason;

  constructor(code: string, reason: FailureReason, message: string, options?: MonitorErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.reason = reason;
  }
}

export interface ApiErrorOptions extends MonitorErrorOptions {
  /** `time.operating_reset_at` of the error answer (Unix seconds), when the portal sent one. */
  readonly operatingResetAt?: number | undefined;
}

/** The portal answered with a Bitrix24 error (`{"error": CODE, ...}`) or an HTTP error status. */
export class ApiError extends MonitorError {
  readonly method: string;
  readonly statusCode: number;
  /** The Bitrix24 error code (`QUERY_LIMIT_EXCEEDED`, `expired_token`, ...) or `HTTP_<status>`. */
  readonly apiCode: string;
  /** Unix seconds when the method's operating time resets, if the error answer said so. */
  readonly operatingResetAt: number | undefined;

  constructor(
    method: string,
    statusCode: number,
    apiCode: string,
    description: string,
    reason: FailureReason,
    options?: ApiErrorOptions,
  ) {
    super(
      'B24_API_ERROR',
      reason,
      `Bitrix24 ${method} answered ${statusCode} ${apiCode}${description ? `: ${description}` : ''}`,
      options,
    );
    this.method = method;
    this.statusCode = statusCode;
    this.apiCode = apiCode;
    this.operatingResetAt = options?.operatingResetAt;
  }
}

export interface AuthErrorOptions extends MonitorErrorOptions {
  /** @default 'auth'; `payment` for the OAuth server's PAYMENT_REQUIRED (subscription lapsed). */
  readonly reason?: 'auth' | 'payment' | undefined;
}

/**
 * The OAuth server refused the refresh (expired, used or revoked refresh token: the
 * application must be re-authorized; or, with reason `payment`, a lapsed subscription), or the
 * portal refused a freshly refreshed access token.
 */
export class AuthError extends MonitorError {
  readonly apiCode: string;

  constructor(apiCode: string, message: string, options?: AuthErrorOptions) {
    super('B24_AUTH', options?.reason ?? 'auth', message, options);
    this.apiCode = apiCode;
  }
}

/** The answer could not be parsed or did not have the expected shape. */
export class BadResponseError extends MonitorError {
  readonly method: string;

  constructor(method: string, message: string, options?: MonitorErrorOptions) {
    super('B24_BAD_RESPONSE', 'bad_response', `Bad answer to ${method}: ${message}`, options);
    this.method = method;
  }
}

/** Connect, header, body or poll deadline passed. */
export class TimeoutError extends MonitorError {
  constructor(message: string, options?: MonitorErrorOptions) {
    super('B24_TIMEOUT', 'timeout', message, options);
  }
}

/** Connection refused, reset, DNS failure... `netCode` is the system error code (ECONNRESET). */
export class NetworkError extends MonitorError {
  readonly netCode: string;

  constructor(netCode: string, message: string, options?: MonitorErrorOptions) {
    super('B24_NETWORK', 'network', message, options);
    this.netCode = netCode;
  }
}

/** A method outside the read-only allow-list was asked for; refused before any I/O. */
export class ForbiddenMethodError extends MonitorError {
  readonly method: string;

  constructor(method: string) {
    super(
      'B24_METHOD_FORBIDDEN',
      'api_error',
      `Method ${method} is not in the monitor's read-only allow-list; refused before any request`,
    );
    this.method = method;
  }
}

/** The poll was aborted (shutdown) — not a portal failure. */
export class AbortedError extends MonitorError {
  constructor(message = 'Aborted', options?: MonitorErrorOptions) {
    super('B24_ABORTED', 'timeout', message, options);
  }
}

export interface TokenStoreErrorOptions extends MonitorErrorOptions {
  /** The file-system error code (`ENOSPC`, `EACCES`...), when one caused it. */
  readonly fsCode?: string | undefined;
}

/** The token file could not be read, parsed or written. The last good pair is kept. */
export class TokenStoreError extends MonitorError {
  /** The file-system error code (`ENOSPC`, `EACCES`...), or undefined for a bad content. */
  readonly fsCode: string | undefined;

  constructor(message: string, options?: TokenStoreErrorOptions) {
    super('B24_TOKEN_STORE', 'auth', message, options);
    this.fsCode = options?.fsCode;
  }
}

/** More commands than one `batch` may hold (50); refused before any request. */
export class BatchLengthError extends MonitorError {
  readonly length: number;

  constructor(length: number, max: number) {
    super('B24_BATCH_LENGTH', 'api_error', `A batch holds at most ${max} commands, got ${length}`);
    this.length = length;
  }
}
