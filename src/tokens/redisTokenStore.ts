/**
 * The monitor's TokenStore on Redis: every shard (and the application) reads and writes a
 * portal's pair under the keys and lock of redisProtocol.ts. While Redis cannot be reached the
 * monitor polls on with the pair it holds; a pair rotated meanwhile is written, by
 * compare-and-set against the last pair seen in Redis, as soon as Redis is back.
 */
import { TokenStoreError } from '../b24/errors.js';
import {
  STORE_UNREACHABLE,
  type SharedRefresh,
  type TokenPair,
  type TokenStore,
} from '../b24/tokenStore.js';
import { errorCodeOf, type RedisConnection } from './redisConnection.js';
import {
  PairStore,
  type FreshPair,
  LockTimeoutError,
  type PairStoreOptions,
} from './redisProtocol.js';

export class RedisTokenStore implements TokenStore {
  readonly path: string;
  readonly #connection: RedisConnection;
  readonly #pairs: PairStore;
  /** The refresh token Redis was last seen holding (undefined: no pair): what a save replaces. */
  #known: string | undefined;
  /** A pair that could not be written while Redis was away. */
  #pending: TokenPair | undefined;

  constructor(connection: RedisConnection, portal: string, options: PairStoreOptions) {
    this.#connection = connection;
    this.#pairs = new PairStore(connection.client, portal, options);
    this.path = `${connection.display} ${this.#pairs.keys.pair}`;
    connection.onReady(() => {
      if (this.#pending !== undefined) void this.save(this.#pending).catch(() => undefined);
    });
  }

  async load(): Promise<TokenPair | null> {
    const pair = await this.#call('read', () => this.#pairs.read());
    this.#known = pair?.refreshToken;
    return pair;
  }

  async save(pair: TokenPair): Promise<void> {
    this.#pending = pair;
    const result = await this.#call('write', () => this.#pairs.save(pair, this.#known));
    this.#pending = undefined;
    if (result.saved) {
      this.#known = pair.refreshToken;
      return;
    }
    if (result.current === pair.refreshToken) {
      this.#known = pair.refreshToken;
      return;
    }
    // Someone saved another pair since this process last saw Redis: not overwritten. The next
    // refresh reads it and goes on with it.
    this.#known = result.current;
    throw new TokenStoreError(
      `Token store ${this.path} holds a pair written by another holder since this process last ` +
        `read it; the pair in memory is not written over it.`,
      { fsCode: 'CONFLICT' },
    );
  }

  async refreshShared(
    held: TokenPair,
    refusedAccessToken: string | undefined,
    exchange: (refreshToken: string) => Promise<FreshPair>,
  ): Promise<SharedRefresh | undefined> {
    try {
      await this.#connection.ready();
    } catch {
      return undefined; // Redis is away: the caller refreshes on its own and saves later
    }
    let exchanged = false;
    try {
      const outcome = await this.#pairs.refresh(held, refusedAccessToken, (refreshToken) => {
        exchanged = true;
        return exchange(refreshToken);
      });
      if (outcome.saved) this.#known = outcome.pair.refreshToken;
      else this.#pending = outcome.pair;
      return outcome;
    } catch (error) {
      if (exchanged) throw error; // the exchange's own error (AuthError, NetworkError...)
      if (error instanceof LockTimeoutError) {
        throw new TokenStoreError(
          `${error.message} (lock ${this.#pairs.keys.lock} in ${this.#connection.display})`,
          { fsCode: 'LOCKED' },
        );
      }
      return undefined; // Redis went away before anything was spent
    }
  }

  async #call<T>(what: 'read' | 'write', run: () => Promise<T>): Promise<T> {
    try {
      await this.#connection.ready();
      return await run();
    } catch (error) {
      const down = !this.#connection.up;
      const code = down ? (this.#connection.lastCode ?? errorCodeOf(error)) : errorCodeOf(error);
      // no cause: an ioredis error may carry the command's arguments, a token among them.
      // While Redis is known to be away the connection has logged it once for every portal:
      // STORE_UNREACHABLE tells the token manager not to log each portal's write on top.
      throw new TokenStoreError(
        `Token store ${this.path} cannot be ${what === 'read' ? 'read' : 'written'} (${code}). ` +
          `The monitor goes on with the pair it holds and writes it once Redis answers again.`,
        { fsCode: down ? STORE_UNREACHABLE : code },
      );
    }
  }
}
