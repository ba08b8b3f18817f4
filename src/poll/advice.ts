/**
 * What an operator reads when a poll fails: one fixed message per cause that names the fix,
 * and whether a new authorization is that fix. Re-authorizing is asked for only where it
 * helps (a refused refresh token, a revoked or lapsed pair, a non-administrator): sending an
 * operator through the consent screen for a plan or a subscription problem wastes their time.
 */
import { type MonitorError, TokenStoreError } from '../b24/errors.js';

export interface FailureAdvice {
  /** The log line's message: the cause and the fix, static text. */
  readonly message: string;
  /** True when only a new authorization by an administrator makes polls work again. */
  readonly reauthorize: boolean;
  readonly level: 'error' | 'warn';
}

const AUTHORIZE =
  'the application must be re-authorized on the portal by an administrator, and the monitor given the new refresh token (B24_REFRESH_TOKEN, or the token file)';

/** By Bitrix24 or OAuth error code; where a code means two things, by `<status> <code>`. */
const BY_CODE: Readonly<Record<string, Omit<FailureAdvice, 'level'>>> = {
  // The OAuth server.
  invalid_grant: {
    message: `Poll failed: the refresh token was refused (expired, used by another holder or revoked): ${AUTHORIZE}`,
    reauthorize: true,
  },
  invalid_client: {
    message:
      'Poll failed: the OAuth server does not know the application: check B24_CLIENT_ID and B24_CLIENT_SECRET',
    reauthorize: false,
  },
  NO_REFRESH_TOKEN: {
    message: `Poll failed: no refresh token: ${AUTHORIZE}`,
    reauthorize: true,
  },
  PAYMENT_REQUIRED: {
    message:
      "Poll failed: the application's subscription has lapsed: renew it; the token pair stays valid, no new authorization is needed",
    reauthorize: false,
  },
  // The portal's token check (401).
  expired_token: {
    message: `Poll failed: the portal refused a freshly refreshed token, the pair was revoked: ${AUTHORIZE}`,
    reauthorize: true,
  },
  invalid_token: {
    message: `Poll failed: the portal refused a freshly refreshed token, the pair was revoked: ${AUTHORIZE}`,
    reauthorize: true,
  },
  NO_AUTH_FOUND: {
    message: `Poll failed: the portal does not know the token: check B24_PORTAL_URL; if it is right, the pair was revoked and ${AUTHORIZE}`,
    reauthorize: true,
  },
  APPLICATION_NOT_FOUND: {
    message: `Poll failed: the application is not installed on the portal: install it again, then ${AUTHORIZE}`,
    reauthorize: true,
  },
  CONNECTION_ERROR: {
    message:
      'Poll failed: the portal could not check the token with the OAuth server: a fault on the Bitrix24 side, polls go on; if it lasts, contact Bitrix24 support',
    reauthorize: false,
  },
  authorization_error: {
    message:
      'Poll failed: the portal refused the authorization: check that the application is installed and active on the portal',
    reauthorize: false,
  },
  '401 user_access_error': {
    message:
      'Poll failed: the user who authorized the monitor has no access to the application: give them access in the application settings on the portal',
    reauthorize: false,
  },
  '401 ACCESS_DENIED': {
    message:
      "Poll failed: the portal's plan has no REST API (commercial plans only): move the portal to a paid plan; no new authorization is needed",
    reauthorize: false,
  },
  WRONG_LICENSE: {
    message:
      "Poll failed: the portal's plan lacks connectors (Professional and above): upgrade the plan, or unset B24_AUTH_CONNECTOR to watch the queue without connector",
    reauthorize: false,
  },
  // Rights (403).
  ACCESS_DENIED: {
    message: `Poll failed: the user who authorized the monitor is not an administrator of the portal: ${AUTHORIZE}`,
    reauthorize: true,
  },
  INVALID_CREDENTIALS: {
    message: `Poll failed: the user who authorized the monitor lacks rights: ${AUTHORIZE}`,
    reauthorize: true,
  },
  WRONG_AUTH_TYPE: {
    message:
      "Poll failed: this kind of authorization may not read the queue (a webhook?): use the OAuth application that bound the offline events, with B24_PORTAL_URL set to the portal's client_endpoint",
    reauthorize: false,
  },
  insufficient_scope: {
    message:
      'Poll failed: the application lacks a scope the event methods need: add it in the application settings on the portal',
    reauthorize: false,
  },
  user_access_error: {
    message:
      'Poll failed: the user who authorized the monitor has no access to the application: give them access in the application settings on the portal',
    reauthorize: false,
  },
  OVERLOAD_LIMIT: {
    message:
      "Poll failed: the portal's REST API is blocked by hand, polling paused: only Bitrix24 support lifts the block",
    reauthorize: false,
  },
};

/** By reason, for codes without advice of their own. */
const BY_REASON: Readonly<Record<string, Omit<FailureAdvice, 'level'>>> = {
  auth: {
    message: `Poll failed: the portal refused the token: check B24_PORTAL_URL; if it is right, ${AUTHORIZE}`,
    reauthorize: true,
  },
  forbidden: {
    message:
      'Poll failed: the portal refused access: the monitor must use the OAuth application, authorized by an administrator',
    reauthorize: false,
  },
  license: { message: "Poll failed: the portal's plan lacks a feature", reauthorize: false },
  payment: {
    message: "Poll failed: the application's subscription has lapsed",
    reauthorize: false,
  },
  operating_limit: {
    message:
      "Poll failed: the method's operating time is used up until its reset: polls of this portal are skipped until then; poll less often or use the count strategy if it recurs",
    reauthorize: false,
  },
};

const REFUSALS = new Set(['auth', 'forbidden', 'license', 'payment']);

export function adviceFor(error: MonitorError): FailureAdvice {
  if (error instanceof TokenStoreError) {
    return {
      message: 'Poll failed: token file unusable: fix or remove the token file named in the error',
      reauthorize: false,
      level: 'error',
    };
  }
  const apiCode = 'apiCode' in error && typeof error.apiCode === 'string' ? error.apiCode : '';
  const status = 'statusCode' in error ? String(error.statusCode) : '';
  const known = BY_CODE[`${status} ${apiCode}`] ?? BY_CODE[apiCode] ?? BY_REASON[error.reason];
  const level = REFUSALS.has(error.reason) || apiCode === 'OVERLOAD_LIMIT' ? 'error' : 'warn';
  return { ...(known ?? { message: 'Poll failed', reauthorize: false }), level };
}
