/**
 * `b24-offline-monitor/token-store`: the application's side of a token pair shared with the
 * monitor through Redis. The application reads its pair, refreshes it and saves it through the
 * same keys and the same lock as the monitor (src/tokens/redisProtocol.ts, README "Sharing the
 * token pair with the application"), so that one administrator's authorization serves both and
 * no refresh token is ever sent twice.
 *
 * ```ts
 * import { openSharedTokenStore } from 'b24-offline-monitor/token-store';
 * const store = openSharedTokenStore({
 *   url: process.env.REDIS_URL, portal: 'acme.bitrix24.com', holder: 'my-app',
 *   oauth: { clientId, clientSecret },
 * });
 * let pair = await store.read();                 // null until the first save
 * // on 401 expired_token / invalid_token from the portal:
 * pair = await store.refresh(pair, { refusedAccessToken: pair.accessToken });
 * await store.close();
 * ```
 */
import { hostname } from 'node:os';
import { refreshTokenPair, type OAuthClientOptions } from '../b24/oauth.js';
import { PORTAL_DEFAULTS } from '../config/settings.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUTS } from '../b24/httpExchange.js';
import { RedisConnection } from './redisConnection.js';
import {
  DEFAULT_PREFIX,
  keysOf,
  PairStore,
  type FreshPair,
  type StoredPair,
} from './redisProtocol.js';

export type { FreshPair, StoredPair } from './redisProtocol.js';
export { keysOf, DEFAULT_PREFIX } from './redisProtocol.js';

export interface SharedTokenStoreOptions {
  /** `redis://[user:password@]host:port/db` or `rediss://...`: the monitor's MONITOR_TOKEN_STORE. */
  readonly url: string;
  /** The monitor's name of the portal (its `portal` label; by default the portal's host). */
  readonly portal: string;
  /** Written as `savedBy` with each pair. @default `application@<host name>` */
  readonly holder?: string | undefined;
  /** The OAuth application, for `refresh` without an `exchange` of your own. */
  readonly oauth?:
    | {
        readonly clientId: string;
        readonly clientSecret: string;
        /** @default the monitor's (PORTAL_DEFAULTS.oauthUrl) */
        readonly oauthUrl?: string | undefined;
      }
    | undefined;
  /** How long the refresh lock lives: longer than one OAuth request. @default 30000 */
  readonly leaseMs?: number | undefined;
  /** @default `b24om:` (the monitor's) */
  readonly prefix?: string | undefined;
  /** Told after each `refresh`: whether this process sent its refresh token (else it took a stored pair). */
  readonly onRefresh?: ((exchanged: boolean) => void) | undefined;
}

export interface RefreshOptions {
  /** The access token the portal just refused (401 expired_token / invalid_token). */
  readonly refusedAccessToken?: string | undefined;
  /** Your own OAuth call instead of the built-in one. */
  readonly exchange?: ((refreshToken: string) => Promise<FreshPair>) | undefined;
}

export interface SharedTokenStore {
  /** The keys of the portal's pair and lock. */
  readonly keys: { readonly pair: string; readonly lock: string };
  /** The stored pair, or null when there is none yet. */
  read(): Promise<StoredPair | null>;
  /**
   * Stores the pair of a new authorization (an administrator's consent, the install handler):
   * it replaces whatever is stored, under the lock.
   */
  saveAuthorized(pair: StoredPair): Promise<void>;
  /**
   * A pair to use after `held` was refused: the newer pair another holder stored meanwhile,
   * else a refresh of the stored pair under the lock, saved by compare-and-set before it is
   * returned. Throws the OAuth error (an AuthError with `apiCode` `invalid_grant`: the
   * application must be authorized again), or Redis's.
   */
  refresh(held: StoredPair, options?: RefreshOptions): Promise<FreshPair>;
  close(): Promise<void>;
}

export function openSharedTokenStore(options: SharedTokenStoreOptions): SharedTokenStore {
  const connection = new RedisConnection(options.url);
  const leaseMs = options.leaseMs ?? 30_000;
  const pairs = new PairStore(connection.client, options.portal, {
    holder: options.holder ?? `application@${hostname()}`,
    prefix: options.prefix ?? DEFAULT_PREFIX,
    leaseMs,
  });
  const oauth: OAuthClientOptions | undefined =
    options.oauth === undefined
      ? undefined
      : {
          oauthUrl: options.oauth.oauthUrl ?? PORTAL_DEFAULTS.oauthUrl,
          clientId: options.oauth.clientId,
          clientSecret: options.oauth.clientSecret,
        };
  const builtInExchange = (refreshToken: string): Promise<FreshPair> => {
    if (oauth === undefined) {
      throw new Error('openSharedTokenStore: give `oauth` or an `exchange` to refresh');
    }
    // the OAuth request ends well within the lease, so the lock is never lost in the middle of it
    const half = Math.floor(leaseMs / 2);
    const timeouts = {
      connectMs: Math.min(DEFAULT_TIMEOUTS.connectMs, half),
      headersMs: Math.min(DEFAULT_TIMEOUTS.headersMs, half),
      bodyMs: Math.min(DEFAULT_TIMEOUTS.bodyMs, half),
      totalMs: Math.min(DEFAULT_TIMEOUTS.totalMs, half),
    };
    return refreshTokenPair(
      refreshToken,
      oauth,
      { timeouts, maxBodyBytes: DEFAULT_MAX_BODY_BYTES },
      Date.now(),
    );
  };
  return {
    keys: keysOf(options.portal, options.prefix ?? DEFAULT_PREFIX),
    async read() {
      await connection.ready();
      return pairs.read();
    },
    async saveAuthorized(pair) {
      await connection.ready();
      const lock = await pairs.lock();
      try {
        const current = await pairs.read();
        const result = await pairs.save(pair, current?.refreshToken);
        if (!result.saved) throw new Error('the pair changed under the lock'); // cannot happen under the lock
      } finally {
        await pairs.unlock(lock).catch(() => undefined);
      }
    },
    async refresh(held, refreshOptions = {}) {
      await connection.ready();
      const outcome = await pairs.refresh(
        held,
        refreshOptions.refusedAccessToken,
        refreshOptions.exchange ?? builtInExchange,
      );
      options.onRefresh?.(outcome.exchanged);
      if (!outcome.saved) {
        // the new pair is the only live one now: hand it over rather than lose it
        throw Object.assign(
          new Error(
            'The refreshed pair could not be saved in Redis: keep error.pair, use it, and save ' +
              'it with saveAuthorized once Redis answers',
          ),
          { pair: outcome.pair },
        );
      }
      return outcome.pair;
    },
    close: () => connection.close(),
  };
}
