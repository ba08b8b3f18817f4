/**
 * What a token store is: where a holder's token pair lives between refreshes. The token file
 * (fileTokenStore.ts) or a store shared by several holders (Redis, src/tokens/).
 */
/** A token pair as the monitor holds it. */
export interface TokenPair {
  readonly refreshToken: string;
  readonly accessToken?: string | undefined;
  /** When the access token expires, Unix ms. */
  readonly expiresAt?: number | undefined;
}

/** What the TokenManager needs from a store (tests may pass an in-memory one). */
export interface TokenStore {
  /** Where the pair is kept, for log fields and messages. */
  readonly path: string;
  /** The stored pair, or null when there is none yet. Throws TokenStoreError when unusable. */
  load(): Promise<TokenPair | null>;
  /** Replaces the stored pair atomically. Throws TokenStoreError; the old pair then stays. */
  save(pair: TokenPair): Promise<void>;
  /**
   * Only a store shared by several holders (Redis) has it: runs the refresh under the store's
   * per-portal lock, or returns the newer pair another holder stored meanwhile (see
   * src/tokens/redisProtocol.ts). Undefined when the store cannot be reached before anything
   * was spent: the caller then refreshes on its own and saves later. Throws what `exchange`
   * throws, or TokenStoreError.
   */
  refreshShared?(
    held: TokenPair,
    refusedAccessToken: string | undefined,
    exchange: (refreshToken: string) => Promise<SharedRefresh['pair']>,
  ): Promise<SharedRefresh | undefined>;
}

/**
 * `fsCode` of a TokenStoreError from a shared store that is away and has said so in a log line
 * of its own: the token manager does not log each portal's failed write on top.
 */
export const STORE_UNREACHABLE = 'STORE_UNREACHABLE';

/** What a shared refresh gives: the pair to use, whether it was exchanged here, whether saved. */
export interface SharedRefresh {
  readonly pair: TokenPair & { readonly accessToken: string };
  readonly exchanged: boolean;
  readonly saved: boolean;
}
