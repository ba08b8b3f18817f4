/**
 * The first authorization: the portal's consent page, the `code` it redirects with, and the
 * `authorization_code` grant that turns the code into the monitor's own token pair. The code
 * lives 30 seconds and serves once, so what the operator pastes is parsed leniently (a bare
 * code, the whole redirect address, or its query string) and exchanged at once.
 */
import { ApiError, AuthError, BadResponseError } from './errors.js';
import { OAuthAnswer, requestGrant, type OAuthClientOptions } from './oauth.js';
import { redact } from './redact.js';
import type { FreshTokenPair } from './refreshExchange.js';
import { repeatableApiCode } from './errorReasons.js';
import type { TransportOptions } from './httpExchange.js';

const AUTHORIZE_LABEL = 'oauth/token (authorization_code)';

/**
 * The portal's consent page: `https://<portal>/oauth/authorize/?client_id=…` next to the REST
 * endpoint (`https://<portal>/rest/`). `state` comes back with the redirect: it tells this
 * authorization's redirect from a stale one.
 */
export function authorizeUrl(restUrl: string, clientId: string, state?: string): string {
  const rest = new URL(restUrl);
  // A portal's REST endpoint is `<portal>/rest/`; the consent page is `<portal>/oauth/authorize/`.
  const url = rest.pathname.endsWith('/rest/')
    ? new URL('../oauth/authorize/', rest)
    : new URL('/oauth/authorize/', rest);
  url.searchParams.set('client_id', clientId);
  if (state !== undefined) url.searchParams.set('state', state);
  return url.href;
}

/** What the operator pasted, or the redirect the local listener received. */
export type AuthorizationInput =
  | {
      readonly kind: 'code';
      readonly code: string;
      /** `state` of the redirect, when it had one. */
      readonly state?: string | undefined;
      /** `domain` of the redirect: the portal that issued the code. */
      readonly domain?: string | undefined;
    }
  /** The portal (or the administrator) refused: `?error=access_denied&error_description=…`. */
  | { readonly kind: 'refused'; readonly error: string; readonly description: string }
  /** Not a code: `why` says what was expected. */
  | { readonly kind: 'invalid'; readonly why: string };

/** A code is an opaque token: letters, digits and a few URL-safe marks. */
const CODE_SHAPE = /^[A-Za-z0-9._~-]{8,512}$/;

/** Reads a redirect's parameters: from a URL, or a bare query string (`code=…&domain=…`). */
export function parseRedirectParams(params: URLSearchParams): AuthorizationInput {
  const error = params.get('error');
  if (error !== null && error !== '') {
    return {
      kind: 'refused',
      error: error.slice(0, 64),
      description: (params.get('error_description') ?? '').slice(0, 300),
    };
  }
  const code = params.get('code');
  if (code === null || code === '') {
    return { kind: 'invalid', why: 'the address has no code parameter' };
  }
  if (!CODE_SHAPE.test(code)) return { kind: 'invalid', why: 'the code parameter is not a code' };
  return {
    kind: 'code',
    code,
    state: params.get('state') ?? undefined,
    domain: params.get('domain') ?? undefined,
  };
}

/** Parses one pasted line: a bare code, the whole redirect address, or its query string. */
export function parseAuthorizationInput(text: string): AuthorizationInput {
  const line = text.trim().replace(/^["'<]+|[>"']+$/g, '');
  if (line === '') return { kind: 'invalid', why: 'nothing was pasted' };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(line)) {
    let url: URL;
    try {
      url = new URL(line);
    } catch {
      return { kind: 'invalid', why: 'the address cannot be parsed' };
    }
    return parseRedirectParams(url.searchParams);
  }
  if (line.includes('=')) return parseRedirectParams(new URLSearchParams(line.replace(/^\?/, '')));
  if (CODE_SHAPE.test(line)) return { kind: 'code', code: line };
  return {
    kind: 'invalid',
    why: 'expected the code, or the whole address the browser was sent to',
  };
}

/** The token answer of a first authorization: the pair, and whose portal it is for. */
export interface AuthorizedPair extends FreshTokenPair {
  /** `client_endpoint` of the answer: the REST endpoint of the portal that issued the code. */
  readonly clientEndpoint?: string | undefined;
  readonly domain?: string | undefined;
  readonly userId?: number | undefined;
}

const EXPIRED_CODE =
  'The OAuth server refused the authorization code (invalid_grant): a code lives 30 seconds ' +
  'and serves once. Open the authorize URL again and give the new code at once.';

function refusalMessage(code: string): string {
  switch (code) {
    case 'invalid_grant':
      return EXPIRED_CODE;
    case 'invalid_client':
      return (
        'The OAuth server refused the application (invalid_client): check B24_CLIENT_ID and ' +
        'B24_CLIENT_SECRET; they must be those of the application the administrator authorized.'
      );
    case 'PAYMENT_REQUIRED':
      return (
        "The OAuth server refused the application (PAYMENT_REQUIRED): the application's " +
        'subscription has lapsed. Renew it on the portal, then authorize again.'
      );
    default:
      return `The OAuth server refused the authorization code (${code}).`;
  }
}

function pickString(data: Record<string, unknown>, key: string): string | undefined {
  const value = data[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Exchanges an authorization code for a new token pair with `grant_type=authorization_code`.
 * Throws AuthError (code refused: expired or used, wrong client, lapsed subscription),
 * NetworkError / TimeoutError, ApiError (a server error), or BadResponseError.
 */
export async function exchangeAuthorizationCode(
  code: string,
  oauth: OAuthClientOptions,
  transport: TransportOptions,
  now: number,
  signal?: AbortSignal,
): Promise<AuthorizedPair> {
  const secrets = [code, oauth.clientSecret];
  const answer = await requestGrant(
    { grant_type: 'authorization_code', code },
    { oauth, transport, label: AUTHORIZE_LABEL, secrets, signal },
  );

  const body =
    typeof answer.json === 'object' && answer.json !== null && !Array.isArray(answer.json)
      ? (answer.json as Record<string, unknown>)
      : undefined;
  const error = body === undefined ? undefined : body['error'];
  if (typeof error === 'string' && error !== '') {
    const apiCode = repeatableApiCode(error, secrets);
    if (answer.status >= 500) {
      const description = redact(pickString(body ?? {}, 'error_description') ?? '', secrets);
      throw new ApiError(AUTHORIZE_LABEL, answer.status, apiCode, description, 'api_error');
    }
    throw new AuthError(apiCode, refusalMessage(apiCode));
  }
  if (answer.status < 200 || answer.status > 299) {
    const apiCode = `HTTP_${answer.status}`;
    if (answer.status >= 400 && answer.status < 500) {
      throw new AuthError(apiCode, refusalMessage(apiCode));
    }
    throw new ApiError(AUTHORIZE_LABEL, answer.status, apiCode, '', 'api_error');
  }
  const parsed = OAuthAnswer.safeParse(answer.json);
  if (!parsed.success || body === undefined) {
    throw new BadResponseError(AUTHORIZE_LABEL, 'no access_token and refresh_token in the answer');
  }
  const { expires, expires_in: expiresIn } = parsed.data;
  const userId = Number(body['user_id']);
  return {
    accessToken: parsed.data.access_token,
    refreshToken: parsed.data.refresh_token,
    expiresAt:
      expires !== undefined
        ? expires * 1000
        : expiresIn !== undefined
          ? now + expiresIn * 1000
          : undefined,
    clientEndpoint: pickString(body, 'client_endpoint'),
    domain: pickString(body, 'domain'),
    userId: Number.isFinite(userId) && userId > 0 ? userId : undefined,
  };
}

/** Whether two REST endpoints name the same portal (scheme and case aside). */
export function sameEndpoint(a: string, b: string): boolean {
  try {
    const left = new URL(a);
    const right = new URL(b);
    const path = (url: URL) => (url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`);
    return left.host.toLowerCase() === right.host.toLowerCase() && path(left) === path(right);
  } catch {
    return false;
  }
}
