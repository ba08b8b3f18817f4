/**
 * The portal's token pair, as one holder of it. The refresh token rotates and the old one dies
 * on first use, so:
 * - one refresh at a time: concurrent callers share the refresh in flight, and a caller whose
 *   token was already replaced gets the new one without another refresh;
 * - the new pair is written to the token file before anyone uses it; if the write fails the
 *   pair is kept in memory anyway (the old refresh token is already dead) and the write is
 *   tried again on the next call (pairWriter.ts);
 * - a refresh in flight is never aborted: an answer lost half-way would lose the pair.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { type Clock, raceAbort, systemClock } from './clock.js';
import type { TokenStoreError } from './errors.js';
import { initialPair, type SeedPair } from './initialPair.js';
import type { OAuthClientOptions } from './oauth.js';
import { PairWriter } from './pairWriter.js';
import {
  type FreshTokenPair,
  ObservedExchange,
  oauthExchange,
  type RefreshExchange,
} from './refreshExchange.js';
import type { SharedRefresh, TokenPair, TokenStore } from './tokenStore.js';
import type { Timeouts } from './httpExchange.js';
import type { SecretSink } from '../runtime/secrets.js';
import type { ClientObserver } from './types.js';

export interface TokenManagerOptions {
  /** The `portal` field of log lines. */
  readonly portal: string;
  readonly store: TokenStore;
  /** The pair used when the store has none yet (B24_REFRESH_TOKEN, B24_ACCESS_TOKEN). */
  readonly seed?: SeedPair;
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
  readonly #logger: Logger;
  readonly #writer: PairWriter;
  readonly #exchange: ObservedExchange;
  readonly #secrets: TokenManagerOptions['secrets'];
  /** The pair in use; undefined until loaded. */
  #pair: TokenPair | undefined;
  #loading: Promise<TokenPair> | undefined;
  #refreshing: Promise<FreshTokenPair> | undefined;
  /** The access token of the last pair taken from a shared store without a refresh of ours. */
  #taken: string | undefined;

  constructor(options: TokenManagerOptions) {
    this.portal = options.portal;
    this.#store = options.store;
    this.#seed = options.seed;
    this.#logger = options.logger;
    this.#writer = new PairWriter(options.store, options.observer, options.logger);
    this.#secrets = options.secrets;
    const exchange =
      options.exchange ??
      oauthExchange(
        { tokenFile: options.store.path, ...options.oauth },
        options,
        options.clock ?? systemClock,
      );
    this.#exchange = new ObservedExchange(exchange, options.observer, options.logger);
  }

  /** Where the pair is kept. */
  get path(): string {
    return this.#store.path;
  }

  /** The last failure to write the token file, until a write succeeds again. */
  get persistError(): TokenStoreError | undefined {
    return this.#writer.persistError;
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
    if (this.#writer.persistError !== undefined) await this.#writer.retry();
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
    const pair = await initialPair(this.#store, this.#seed);
    this.#learn(pair);
    this.#pair = pair;
    this.#writer.adopt(pair);
    return pair;
  }

  /** Waits for a refresh in flight (bounded by its own timeouts) and for the file to hold its pair. */
  async settle(): Promise<void> {
    await this.#refreshing?.catch(() => undefined);
    await this.#writer.idle();
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
    await this.#writer.write(next);
    this.#pair = next;
    return next;
  }

  /** The exchange, the new pair told to the log scrubber. */
  async #exchangeObserved(refreshToken: string): Promise<FreshTokenPair> {
    const next = await this.#exchange.run(refreshToken);
    this.#learn(next);
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
    if (shared.saved) {
      this.#writer.savedElsewhere(pair);
    } else {
      await this.#writer.write(pair);
    }
    this.#pair = pair;
    return pair;
  }

  /**
   * The refresh token to use. After a refusal the same token is not sent again (it cannot
   * work); the file is read once more instead, in case an operator put a new token there.
   */
  async #usableRefreshToken(current: TokenPair): Promise<string> {
    const refusal = this.#exchange.refusalOf(current.refreshToken);
    if (refusal === undefined) return current.refreshToken;
    const stored = await this.#store.load().catch(() => null);
    if (stored === null || stored.refreshToken === current.refreshToken) throw refusal;
    this.#logger.info({ path: this.path }, 'New refresh token in token file');
    this.#learn(stored);
    this.#exchange.forgetRefusal();
    this.#pair = stored;
    this.#writer.adopt(stored);
    return stored.refreshToken;
  }
}
