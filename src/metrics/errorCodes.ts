/**
 * The values of the `code` label of `b24_offline_rest_errors_total`. A portal chooses its
 * error codes, so a label taken verbatim would add series whenever one varies: the Bitrix24
 * codes of the error table of docs/bitrix24-api.md, HTTP statuses, network and client-side codes keep their
 * name; anything else counts as `other`.
 */

/** Bitrix24 REST and OAuth error codes (the error table of docs/bitrix24-api.md, plus the OAuth server's). */
const API_CODES = [
  'INTERNAL_SERVER_ERROR',
  'ERROR_UNEXPECTED_ANSWER',
  'QUERY_LIMIT_EXCEEDED',
  'OPERATION_TIME_LIMIT',
  'OVERLOAD_LIMIT',
  'ERROR_BATCH_METHOD_NOT_ALLOWED',
  'ERROR_BATCH_LENGTH_EXCEEDED',
  'ERROR_ARGUMENT',
  'INVALID_REQUEST',
  'NO_AUTH_FOUND',
  'expired_token',
  'invalid_token',
  'ACCESS_DENIED',
  'CONNECTION_ERROR',
  'APPLICATION_NOT_FOUND',
  'authorization_error',
  'user_access_error',
  'PAYMENT_REQUIRED',
  'INVALID_CREDENTIALS',
  'insufficient_scope',
  'WRONG_AUTH_TYPE',
  'WRONG_LICENSE',
  'ERROR_METHOD_NOT_FOUND',
  'ERROR_MANIFEST_IS_NOT_AVAILABLE',
  'PORTAL_DELETED',
  'invalid_grant',
  'invalid_client',
  'invalid_request',
  'NO_REFRESH_TOKEN',
];

/** Network failures (system and undici codes) and the client's own. */
const CLIENT_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RESPONSE_EXCEEDED_MAX_SIZE',
  'TIMEOUT',
  'BAD_RESPONSE',
  'UNKNOWN',
];

const KNOWN: ReadonlySet<string> = new Set([...API_CODES, ...CLIENT_CODES]);

/** The label value of a REST error code. */
export function errorCodeLabel(code: string): string {
  if (KNOWN.has(code)) return code;
  // HTTP_<status> of an error answer without a Bitrix24 code: 100 to 599 only
  if (/^HTTP_[1-5]\d\d$/.test(code)) return code;
  return 'other';
}
