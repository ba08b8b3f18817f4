/**
 * The portal refused the access token a request carried (401 `expired_token` or
 * `invalid_token`): the client refreshes and sends again, without a wait and outside the
 * retry budget, but only as often as a refusal can still mean "an old token" rather than "the
 * pair is no good".
 */
import { ApiError, AuthError } from './errors.js';
import type { TokenManager } from './tokens.js';

/** Refreshes one call may make when the pair is shared and other holders refresh it too. */
const SHARED_REFRESHES_PER_CALL = 4;

/** 401 `expired_token` / `invalid_token`: the access token, not the application, is refused. */
export function isTokenRefusal(error: unknown): error is ApiError {
  return (
    error instanceof ApiError &&
    (error.apiCode === 'expired_token' || error.apiCode === 'invalid_token')
  );
}

/**
 * Whether a call that has refreshed `refreshes` times already may refresh once more after
 * `refusal` of `token`; throws the AuthError that tells an administrator to re-authorize when
 * it may not.
 *
 * The first refusal always gets a refresh. A fresh token that answered `expired_token` may
 * really have expired while the call waited out retries (or a portal's clock says so): one
 * more. A pair another holder stored (shared token store) was never tried by this process:
 * it gets its own refresh. With a shared pair another holder may refresh at any moment, which
 * ends this process's fresh token: a few more. Any other refusal of a fresh token means the
 * pair is no good.
 */
export function assertMayRefreshAgain(
  refusal: ApiError,
  token: string,
  refreshes: number,
  tokens: Pick<TokenManager, 'takenFromStore' | 'shared'>,
): void {
  const mayRefreshAgain =
    refreshes === 0 ||
    tokens.takenFromStore(token) ||
    (refreshes === 1 && refusal.apiCode === 'expired_token') ||
    (tokens.shared && refreshes < SHARED_REFRESHES_PER_CALL);
  if (mayRefreshAgain) return;
  throw new AuthError(
    refusal.apiCode,
    `The portal refused a freshly refreshed access token (${refusal.apiCode}). The ` +
      `application may have been removed or its access revoked: an administrator ` +
      `must re-authorize it on the portal.`,
    { cause: refusal },
  );
}
