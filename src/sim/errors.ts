/**
 * Error answers of the simulated portal. A handler throws a `SimApiError`; the portal turns it
 * into `{"error": CODE, "error_description": text}` with the HTTP status of the real API.
 */
export class SimApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly description: string;

  constructor(status: number, code: string, description: string) {
    super(`${status} ${code}: ${description}`);
    this.name = 'SimApiError';
    this.status = status;
    this.code = code;
    this.description = description;
  }

  /** The JSON body the portal sends. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

/** 400 `ERROR_ARGUMENT`: a bad filter, order or parameter. */
export function argumentError(description: string): SimApiError {
  return new SimApiError(400, 'ERROR_ARGUMENT', description);
}

/** The error answers the portal produces by itself, texts as close to the real ones as known. */
export const apiErrors = {
  methodNotFound: () => new SimApiError(404, 'ERROR_METHOD_NOT_FOUND', 'Method not found!'),
  noAuth: () => new SimApiError(401, 'NO_AUTH_FOUND', 'Wrong authorization data'),
  invalidToken: () => new SimApiError(401, 'invalid_token', 'Unable to get application by token'),
  expiredToken: () =>
    new SimApiError(401, 'expired_token', 'The access token provided has expired.'),
  accessDenied: () =>
    new SimApiError(403, 'ACCESS_DENIED', 'Access denied! Administrator access required'),
  wrongLicense: () =>
    new SimApiError(403, 'WRONG_LICENSE', 'Your Bitrix24 plan does not include this feature'),
  queryLimit: () => new SimApiError(503, 'QUERY_LIMIT_EXCEEDED', 'Too many requests'),
  overload: () => new SimApiError(503, 'OVERLOAD_LIMIT', 'REST API is blocked due to overload.'),
  operatingLimit: (method: string) =>
    new SimApiError(
      429,
      'OPERATION_TIME_LIMIT',
      `Method ${method} is blocked due to operation time limit.`,
    ),
  internal: () =>
    new SimApiError(
      500,
      'INTERNAL_SERVER_ERROR',
      'Internal server error. Contact the server administrator or Bitrix24 support',
    ),
  batchLength: () =>
    new SimApiError(400, 'ERROR_BATCH_LENGTH_EXCEEDED', 'Max batch length exceeded'),
  batchMethodNotAllowed: () =>
    new SimApiError(405, 'ERROR_BATCH_METHOD_NOT_ALLOWED', 'Method is not allowed for batch usage'),
} as const;
