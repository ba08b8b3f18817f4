/**
 * The OAuth refresh exchange: one GET to the token endpoint, the answer validated, the
 * failures sorted into "re-authorize the application" (AuthError), "renew the subscription"
 * (AuthError with reason `payment`) and "try again later" (NetworkError, TimeoutError,
 * ApiError with an HTTP_5xx code).
 */
import { z } from 'zod';
import { ApiError, AuthError, BadResponseError } from './errors.js';
import { redact } from './redact.js';
import { repeatableApiCode } from './errorReasons.js';
import { exchangeJson, type TransportOptions } from './httpExchange.js';
import type { TokenPair } from './tokenStore.js';

export interface OAuthClientOptions {
  /** The token endpoint. */
  readonly oauthUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Named in the re-authorization message, so the operator knows which file to fill. */
  readonly tokenFile?: string | undefined;
}

/** The fields of the token endpoint's answer the monitor uses. */
export const OAuthAnswer = z
  .object({
    access_token: z.string().min(1),
    refresh_token: z.string().min(1),
    /** Unix seconds. */
    expires: z.number().optional().catch(undefined),
    expires_in: z.number().optional().catch(undefined),
  })
  .loose();
export type OAuthAnswer = z.infer<typeof OAuthAnswer>;

const OAuthErrorAnswer = z
  .object({
    error: z.string().min(1),
    error_description: z.string().optional().catch(undefined),
  })
  .loose();

/** Errors that no retry can fix: an administrator has to act. */
const FATAL_OAUTH_CODES: ReadonlySet<string> = new Set([
  'invalid_grant',
  'invalid_client',
  'invalid_request',
  'invalid_scope',
  'unauthorized_client',
  'unsupported_grant_type',
]);

/** Statuses of a refused grant even when the body names no OAuth error. */
const AUTH_STATUSES: ReadonlySet<number> = new Set([400, 401, 403]);

const OAUTH_LABEL = 'oauth/token';

function reauthorizeHint(tokenFile: string | undefined): string {
  const where = tokenFile
    ? `B24_REFRESH_TOKEN or the token file ${tokenFile}`
    : 'B24_REFRESH_TOKEN';
  return (
    `An administrator must re-authorize the application on the portal and give the monitor ` +
    `the new refresh token via ${where}.`
  );
}

function authMessage(code: string, tokenFile: string | undefined): string {
  switch (code) {
    case 'invalid_grant':
      return (
        `The OAuth server refused the refresh token (invalid_grant): it expired (180 days), was ` +
        `already used (another process holding the same pair?) or was revoked. ` +
        reauthorizeHint(tokenFile)
      );
    case 'invalid_client':
      return (
        `The OAuth server refused the application (invalid_client): check B24_CLIENT_ID and ` +
        `B24_CLIENT_SECRET. If they are right, the application was removed: ` +
        reauthorizeHint(tokenFile)
      );
    default:
      return `The OAuth server refused the token refresh (${code}). ${reauthorizeHint(tokenFile)}`;
  }
}

/** The expiry of the new access token, Unix ms. */
function expiresAt(answer: OAuthAnswer, now: number): number | undefined {
  if (answer.expires !== undefined) return answer.expires * 1000;
  if (answer.expires_in !== undefined) return now + answer.expires_in * 1000;
  return undefined;
}

/**
 * One GET to the token endpoint with this grant and the application's credentials. `secrets`
 * (the grant's own and the client secret) are kept out of every error the transport throws.
 */
export function requestGrant(
  grant: Readonly<Record<string, string>>,
  request: {
    readonly oauth: OAuthClientOptions;
    readonly transport: TransportOptions;
    readonly label: string;
    readonly secrets: readonly string[];
    readonly signal?: AbortSignal | undefined;
  },
): ReturnType<typeof exchangeJson> {
  const url = new URL(request.oauth.oauthUrl);
  for (const [key, value] of Object.entries(grant)) url.searchParams.set(key, value);
  url.searchParams.set('client_id', request.oauth.clientId);
  url.searchParams.set('client_secret', request.oauth.clientSecret);
  return exchangeJson(
    { url: url.toString(), httpMethod: 'GET', label: request.label, secrets: request.secrets },
    request.transport,
    request.signal,
  );
}

/**
 * Exchanges `refreshToken` for a new pair. Throws AuthError when the application must be
 * re-authorized; NetworkError, TimeoutError or ApiError (`HTTP_5xx`, reason `api_error`) when a
 * later attempt may succeed; BadResponseError for an answer without the two tokens.
 */
export async function refreshTokenPair(
  refreshToken: string,
  oauth: OAuthClientOptions,
  transport: TransportOptions,
  now: number,
  signal?: AbortSignal,
): Promise<TokenPair & { readonly accessToken: string }> {
  const secrets = [refreshToken, oauth.clientSecret];
  const answer = await requestGrant(
    { grant_type: 'refresh_token', refresh_token: refreshToken },
    { oauth, transport, label: OAUTH_LABEL, secrets, signal },
  );

  const failed = OAuthErrorAnswer.safeParse(answer.json);
  if (failed.success && (answer.status >= 400 || !('access_token' in failed.data))) {
    const code = repeatableApiCode(failed.data.error, secrets);
    if (code === 'PAYMENT_REQUIRED') {
      // Not a token problem: the pair stays good, and works again once the subscription is paid.
      throw new AuthError(
        code,
        `The OAuth server refused the token refresh (PAYMENT_REQUIRED): the application's ` +
          `subscription has lapsed. Renew it; no new authorization is needed.`,
        { reason: 'payment' },
      );
    }
    if (FATAL_OAUTH_CODES.has(code) || AUTH_STATUSES.has(answer.status)) {
      throw new AuthError(code, authMessage(code, oauth.tokenFile));
    }
    const description = redact(failed.data.error_description ?? '', secrets);
    throw new ApiError(OAUTH_LABEL, answer.status, code, description, 'api_error');
  }
  if (answer.status < 200 || answer.status > 299) {
    const code = `HTTP_${answer.status}`;
    if (AUTH_STATUSES.has(answer.status)) {
      throw new AuthError(code, authMessage(code, oauth.tokenFile));
    }
    throw new ApiError(OAUTH_LABEL, answer.status, code, '', 'api_error');
  }
  const parsed = OAuthAnswer.safeParse(answer.json);
  if (!parsed.success) {
    throw new BadResponseError(OAUTH_LABEL, 'no access_token and refresh_token in the answer');
  }
  return {
    accessToken: parsed.data.access_token,
    refreshToken: parsed.data.refresh_token,
    expiresAt: expiresAt(parsed.data, now),
  };
}
