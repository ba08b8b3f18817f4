/**
 * The portal's token pair, as one holder of it. The refresh token rotates and the old one dies
 * on first use, so:
 * - one refresh at a time: concurrent callers share the refresh in flight, and a caller whose
 *   token was already replaced gets the new one without another refresh;
 * - the new pair is written to the token file before anyone uses it; if the write fails the
 *   pair is kept in memory anyway (the old refresh token is already dead), the failure is
 *   logged and exposed as `persistError`, and the write is tried again on the next call;
 * - a refresh in flight is never aborted: an answer lost half-way would lose the pair.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { type Clock, raceAbort, systemClock } from './clock.js';
import { AuthError, MonitorError, NetworkError, TokenStoreError } from './errors.js';
import { type OAuthClientOptions, refreshTokenPair } from './oauth.js';
import {
  STORE_UNREACHABLE,
  type SharedRefresh,
  type TokenPair,
  type TokenStore,
} from './tokenStore.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUTS, type Timeouts } from './transport.js';
import type { SecretSink } from '../runtime/secrets.js';
import type { ClientObserver } from './types.js';

/** A pair fresh from the OAuth server: it always has an access token. */
export type FreshTokenPair = TokenPair & { readonly accessToken: string };

/** Exchanges a refresh token for a new pair; the default calls the OAuth endpoint. */
export type RefreshExchange = (refreshToken: string) => Promise<FreshTokenPair>;

export interface TokenManagerOptions {
  /** The `portal` field of log lines. */
  readonly portal: string;
  readonly store: TokenStore;
  /** The pair used when the store has none yet (B24_REFRESH_TOKEN, B24_ACCESS_TOKEN). */
  readonly seed?: {
    readonly refreshToken?: string | undefined;
    readonly accessToken?: string | undefined;
  };
  /** The OAuth application; `tokenFile` defaults to `store.path`. */
  readonly oauth: OAuthClientOptions;
  readonly observer: Pick<ClientObserver, 'refresh' | 'tokenPersistFailed'>;
  /** A child logger that already carries `{ portal }`: lines here do not add it again. */
  readonly logger: Logger;
  /** For the OAuth request. @default undici's global dispatcher */
  readonly dispatcher?: Dispatcher | undefined;
  /** For the OAuth request (`connectMs` applies only through `dispatcher`). @default DEFAULT_TIMEOUTS */
  readonly timeouts?: Partial<Timeouts> | undefined;
  /** @default 8 MiB */
  readonly maxBodyBytes?: number | undefined;
  /** @default systemClock */
  readonly clock?: Pick<Clock, 'now'> | undefined;
  /** Replaces the OAuth request (tests, other OAuth servers). */
  readonly exchange?: RefreshExchange | undefined;
  /** Told the pair in use each time it changes, so the logger can scrub it. */
  readonly secrets?: SecretSink | undefined;
}

export class TokenManager {
  readonly portal: string;
  readonly #store: TokenStore;
  readonly #seed: TokenManagerOptions['seed'];
  readonly #observer: Pick<ClientObserver, 'refresh' | 'tokenPersistFailed'>;
  readonly #logger: Logger;
  readonly #exchange: RefreshExchange;
  readonly #secrets: TokenManagerOptions['secrets'];
  /** The pair in use; undefined until loaded. */
  #pair: TokenPair | undefined;
  #loading: Promise<TokenPair> | undefined;
  #refreshing: Promise<FreshTokenPair> | undefined;
  /** The newest pair, which the file must hold; moves ahead of `#pair` while it is written. */
  #latest: TokenPair | undefined;
  #saved: TokenPair | undefined;
  /** Writes run one after another, each writing `#latest`: an older pair never lands last. */
  #writes: Promise<void> = Promise.resolve();
  #persistError: TokenStoreError | undefined;
  /** The access token of the last pair taken from a shared store without a refresh of ours. */
  #taken: string | undefined;
  /** The refresh token the OAuth server refused for good, and how. */
  #refused: { readonly refreshToken: string; readonly error: AuthError } | undefined;

  constructor(options: TokenManagerOptions) {
    this.portal = options.portal;
    this.#store = options.store;
    this.#seed = options.seed;
    this.#observer = options.observer;
    this.#logger = options.logger;
    this.#secrets = options.secrets;
    const clock = options.clock ?? systemClock;
    const oauth: OAuthClientOptions = { tokenFile: options.store.path, ...options.oauth };
    const transport = {
      dispatcher: options.dispatcher,
      timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    };
    this.#exchange =
      options.exchange ??
      ((refreshToken) => refreshTokenPair(refreshToken, oauth, transport, clock.now()));
  }

  /** Where the pair is kept. */
  get path(): string {
    return this.#store.path;
  }

  /** The last failure to write the token file, until a write succeeds again. */
  get persistError(): TokenStoreError | undefined {
    return this.#persistError;
  }

  /**
   * Whether the pair is shared with other holders (a store that refreshes under a lock, such as
   * Redis shared with the application): another holder may then refresh at any moment, which
   * ends the access token this process just got.
   */
  get shared(): boolean {
    return this.#store.refreshShared !== undefined;
  }

  /**
   * Whether `accessToken` came from another holder through the shared store, untried: once
   * (the caller may then refresh again instead of giving up on a just-refreshed token).
   */
  takenFromStore(accessToken: string | undefined): boolean {
    if (accessToken === undefined || accessToken !== this.#taken) return false;
    this.#taken = undefined;
    return true;
  }

  /**
   * The access token to use now. Loads the pair on first use (the file's, else the seed);
   * refreshes when there is no access token yet; writes the file again if the last write
   * failed. Throws TokenStoreError (unusable file), AuthError (no or refused refresh token),
   * or what a refresh throws.
   */
  async accessToken(signal?: AbortSignal): Promise<string> {
    const pair = await this.#current(signal);
    if (this.#persistError !== undefined) await this.#flush();
    if (pair.accessToken !== undefined) return pair.accessToken;
    return this.refresh(undefined, signal);
  }

  /**
   * Gets a new access token. `staleAccessToken` is the token the portal refused: when the pair
   * has moved on since it was handed out, the current token is returned without a refresh.
   * Concurrent callers share one refresh. `signal` stops the caller's wait, not the refresh.
   */
  async refresh(staleAccessToken?: string, signal?: AbortSignal): Promise<string> {
    const pair = await this.#current(signal);
    if (
      staleAccessToken !== undefined &&
      pair.accessToken !== undefined &&
      pair.accessToken !== staleAccessToken
    ) {
      return pair.accessToken;
    }
    this.#refreshing ??= this.#refresh(pair, staleAccessToken).finally(() => {
      this.#refreshing = undefined;
    });
    const next = await raceAbort(this.#refreshing, signal);
    return next.accessToken;
  }

  #current(signal?: AbortSignal): Promise<TokenPair> {
    if (this.#pair !== undefined) return Promise.resolve(this.#pair);
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return raceAbort(this.#loading, signal);
  }

  async #load(): Promise<TokenPair> {
    const stored = await this.#store.load();
    const seedToken = this.#seed?.refreshToken;
    const pair: TokenPair | undefined =
      stored ??
      (seedToken
        ? { refreshToken: seedToken, accessToken: this.#seed?.accessToken || undefined }
        : undefined);
    if (pair === undefined) {
      throw new AuthError(
        'NO_REFRESH_TOKEN',
        `No refresh token: the token file ${this.#store.path} does not exist and ` +
          `B24_REFRESH_TOKEN is not set. Authorize the application on the portal as an ` +
          `administrator and give the monitor its refresh token.`,
      );
    }
    this.#learn(pair);
    this.#pair = pair;
    this.#latest = pair;
    this.#saved = pair;
    return pair;
  }

  /** Waits for a refresh in flight (bounded by its own timeouts) and for the file to hold its pair. */
  async settle(): Promise<void> {
    await this.#refreshing?.catch(() => undefined);
    await this.#writes;
  }

  #learn(pair: TokenPair): void {
    this.#secrets?.replace(this.portal, [pair.accessToken, pair.refreshToken]);
  }

  async #refresh(current: TokenPair, refusedAccessToken?: string): Promise<FreshTokenPair> {
    const refreshToken = await this.#usableRefreshToken(current);
    const shared = await this.#store.refreshShared?.(
      { ...current, refreshToken },
      refusedAccessToken,
      (token) => this.#exchangeObserved(token),
    );
    if (shared !== undefined) return this.#useShared(shared);
    const next = await this.#exchangeObserved(refreshToken);
    this.#latest = next;
    await this.#flush();
    this.#pair = next;
    return next;
  }

  /** The OAuth exchange, counted and logged. */
  async #exchangeObserved(refreshToken: string): Promise<FreshTokenPair> {
    let next: FreshTokenPair;
    try {
      next = await this.#exchange(refreshToken);
      this.#learn(next);
    } catch (error) {
      this.#observer.refresh(false);
      this.#logRefreshFailure(error);
      // A lapsed subscription does not kill the refresh token: it is sent again next time.
      if (error instanceof AuthError && error.reason === 'auth') {
        this.#refused = { refreshToken, error };
      }
      throw error;
    }
    this.#observer.refresh(true);
    this.#logger.info({}, 'Access token refreshed');
    return next;
  }

  /** A pair from a shared store: refreshed here and saved there, or another holder's newer one. */
  async #useShared(shared: SharedRefresh): Promise<FreshTokenPair> {
    const { pair } = shared;
    this.#learn(pair);
    this.#taken = shared.exchanged ? undefined : pair.accessToken;
    if (!shared.exchanged) {
      this.#logger.info({}, 'Token pair taken from the shared token store');
    }
    this.#latest = pair;
    if (shared.saved) {
      this.#saved = pair;
      this.#persistError = undefined;
    } else {
      await this.#flush();
    }
    this.#pair = pair;
    return pair;
  }

  /**
   * The refresh token to use. After a refusal the same token is not sent again (it cannot
   * work); the file is read once more instead, in case an operator put a new token there.
   */
  async #usableRefreshToken(current: TokenPair): Promise<string> {
    const refused = this.#refused;
    if (refused === undefined || refused.refreshToken !== current.refreshToken) {
      return current.refreshToken;
    }
    const stored = await this.#store.load().catch(() => null);
    if (stored === null || stored.refreshToken === refused.refreshToken) throw refused.error;
    this.#logger.info({ path: this.path }, 'New refresh token in token file');
    this.#learn(stored);
    this.#refused = undefined;
    this.#pair = stored;
    this.#latest = stored;
    this.#saved = stored;
    return stored.refreshToken;
  }

  #logRefreshFailure(error: unknown): void {
    const fields = {
      code: logCodeOf(error),
      reason: error instanceof MonitorError ? error.reason : undefined,
      // Messages of MonitorErrors are built to be safe: no token, no secret, no OAuth URL.
      error: error instanceof MonitorError ? error.message : 'unexpected error',
    };
    if (error instanceof AuthError && error.reason === 'payment') {
      this.#logger.error(fields, "Token refresh refused: the application's subscription lapsed");
    } else if (error instanceof AuthError) {
      this.#logger.error(fields, 'Token refresh refused: the application must be re-authorized');
    } else {
      this.#logger.warn(fields, 'Token refresh failed');
    }
  }

  /** Writes `#latest` unless the file holds it already. Never throws: see `persistError`. */
  #flush(): Promise<void> {
    this.#writes = this.#writes.then(async () => {
      const pair = this.#latest;
      if (pair === undefined || pair === this.#saved) return;
      try {
        await this.#store.save(pair);
        this.#saved = pair;
        if (this.#persistError !== undefined) {
          this.#logger.info({ path: this.path }, 'Token file written again');
        }
        this.#persistError = undefined;
      } catch (error) {
        const storeError =
          error instanceof TokenStoreError
            ? error
            : new TokenStoreError(`Token file ${this.path} could not be written`, {
                cause: error,
              });
        const repeated =
          this.#persistError !== undefined && this.#persistError.fsCode === storeError.fsCode;
        this.#persistError = storeError;
        this.#observer.tokenPersistFailed?.();
        if (!repeated && storeError.fsCode !== STORE_UNREACHABLE) {
          // The store's message names the file and what to do, and never holds a token.
          this.#logger.error(
            {
              path: this.path,
              code: storeError.fsCode ?? storeError.code,
              error: storeError.message,
            },
            'Token file could not be written; the new token pair is kept in memory only',
          );
        }
      }
    });
    return this.#writes;
  }
}

/** The most specific code of an error, for the `code` field of a log line. */
function logCodeOf(error: unknown): string {
  if (error instanceof AuthError) return error.apiCode;
  if (error instanceof NetworkError) return error.netCode;
  if (error instanceof MonitorError) return 'apiCode' in error ? String(error.apiCode) : error.code;
  return 'UNKNOWN';
}
