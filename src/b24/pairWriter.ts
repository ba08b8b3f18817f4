/**
 * Writes a holder's newest token pair to its store, one write after another. The refresh token
 * rotates and the old one is dead by the time a write starts, so a failed write does not lose
 * the pair: it stays the one to write, the failure is logged once (per kind of failure) and
 * exposed as `persistError`, and the next `retry()` writes it again. Writes run in a chain,
 * each writing the newest pair: an older pair never lands last.
 */
import type { Logger } from 'pino';
import { TokenStoreError } from './errors.js';
import { STORE_UNREACHABLE, type TokenPair, type TokenStore } from './tokenStore.js';
import type { ClientObserver } from './types.js';

export class PairWriter {
  readonly #store: TokenStore;
  readonly #observer: Pick<ClientObserver, 'tokenPersistFailed'>;
  readonly #logger: Logger;
  /** The newest pair, which the store must hold. */
  #latest: TokenPair | undefined;
  /** The pair the store holds. */
  #saved: TokenPair | undefined;
  #writes: Promise<void> = Promise.resolve();
  #persistError: TokenStoreError | undefined;

  constructor(
    store: TokenStore,
    observer: Pick<ClientObserver, 'tokenPersistFailed'>,
    logger: Logger,
  ) {
    this.#store = store;
    this.#observer = observer;
    this.#logger = logger;
  }

  /** The last failure to write the store, until a write succeeds again. */
  get persistError(): TokenStoreError | undefined {
    return this.#persistError;
  }

  /** A pair read from the store: it holds it already. */
  adopt(pair: TokenPair): void {
    this.#latest = pair;
    this.#saved = pair;
  }

  /** A pair another party (a shared store's refresh) has saved already. */
  savedElsewhere(pair: TokenPair): void {
    this.adopt(pair);
    this.#persistError = undefined;
  }

  /** Makes `pair` the newest and writes it. Never throws: see `persistError`. */
  write(pair: TokenPair): Promise<void> {
    this.#latest = pair;
    return this.retry();
  }

  /** Writes the newest pair unless the store holds it already. Never throws. */
  retry(): Promise<void> {
    this.#writes = this.#writes.then(async () => {
      const pair = this.#latest;
      if (pair === undefined || pair === this.#saved) return;
      try {
        await this.#store.save(pair);
        this.#saved = pair;
        if (this.#persistError !== undefined) {
          this.#logger.info({ path: this.#store.path }, 'Token file written again');
        }
        this.#persistError = undefined;
      } catch (error) {
        this.#failed(error);
      }
    });
    return this.#writes;
  }

  /** Resolves once no write is in flight. */
  idle(): Promise<void> {
    return this.#writes;
  }

  #failed(error: unknown): void {
    const path = this.#store.path;
    const storeError =
      error instanceof TokenStoreError
        ? error
        : new TokenStoreError(`Token file ${path} could not be written`, { cause: error });
    const repeated =
      this.#persistError !== undefined && this.#persistError.fsCode === storeError.fsCode;
    this.#persistError = storeError;
    this.#observer.tokenPersistFailed?.();
    if (!repeated && storeError.fsCode !== STORE_UNREACHABLE) {
      // The store's message names the file and what to do, and never holds a token.
      this.#logger.error(
        { path, code: storeError.fsCode ?? storeError.code, error: storeError.message },
        'Token file could not be written; the new token pair is kept in memory only',
      );
    }
  }
}
