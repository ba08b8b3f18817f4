/**
 * The pair a holder starts from: the one its store holds, else the seed the configuration
 * gives (B24_REFRESH_TOKEN, B24_ACCESS_TOKEN), else none, which only an administrator's new
 * authorization can fix.
 */
import { AuthError } from './errors.js';
import type { TokenPair, TokenStore } from './tokenStore.js';

/** A pair given by the configuration, used while the store has none. */
export interface SeedPair {
  readonly refreshToken?: string | undefined;
  readonly accessToken?: string | undefined;
}

/** Throws TokenStoreError (an unusable store) or AuthError `NO_REFRESH_TOKEN`. */
export async function initialPair(
  store: TokenStore,
  seed: SeedPair | undefined,
): Promise<TokenPair> {
  const stored = await store.load();
  if (stored !== null) return stored;
  if (seed?.refreshToken) {
    return { refreshToken: seed.refreshToken, accessToken: seed.accessToken || undefined };
  }
  throw new AuthError(
    'NO_REFRESH_TOKEN',
    `No refresh token: the token store ${store.path} holds no pair and ` +
      `B24_REFRESH_TOKEN is not set. Authorize the application on the portal as an ` +
      `administrator and give the monitor its refresh token.`,
  );
}
