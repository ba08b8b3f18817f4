/**
 * The token pairs in Redis, and the protocol every holder follows: the monitor's shards and the
 * application itself (through `b24-offline-monitor/token-store`). A refresh token dies on first
 * use, so two holders must never send the same one: a refresh happens only
 *
 * 1. under the portal's lock: `SET <prefix>{<portal>}:lock <random> NX PX <lease>`; the lease
 *    outlives the OAuth request, so a holder that dies frees the lock by itself;
 * 2. after reading the pair again: if it is no longer the one the holder used (someone refreshed
 *    meanwhile), the holder takes the stored pair and sends nothing;
 * 3. and the new pair is saved by compare-and-set of the pair it replaces (a Lua script: the
 *    stored refresh token must still be the one exchanged, the fencing check), then the lock is
 *    released by compare-and-delete of its random value.
 *
 * Keys (the braces are a Redis Cluster hash tag: both keys of a portal live in one slot):
 * - `b24om:{<portal>}:pair`: a hash with `refreshToken`, `accessToken` (may be empty),
 *   `expiresAt` (Unix ms, may be empty), `version` (incremented by every save), `savedAt`
 *   (ISO 8601), `savedBy` (who wrote it: `monitor@<host>`, or the application's own label).
 * - `b24om:{<portal>}:lock`: the refresh lock, a random value with a lease.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export const DEFAULT_PREFIX = 'b24om:';

/** A pair as it is kept; `accessToken` and `expiresAt` may be unknown. */
export interface StoredPair {
  readonly refreshToken: string;
  readonly accessToken?: string | undefined;
  /** Unix ms. */
  readonly expiresAt?: number | undefined;
}

export type FreshPair = StoredPair & { readonly accessToken: string };

export interface PairKeys {
  readonly pair: string;
  readonly lock: string;
}

export function keysOf(portal: string, prefix = DEFAULT_PREFIX): PairKeys {
  // `}` would end the hash tag early: portal names never hold one in practice, but be exact
  const tag = portal.replaceAll('}', '%7D');
  return { pair: `${prefix}{${tag}}:pair`, lock: `${prefix}{${tag}}:lock` };
}

/**
 * KEYS[1] pair; ARGV: expected refresh token ('' = no pair yet), refreshToken, accessToken,
 * expiresAt, savedAt, savedBy. Returns {1, version} when written, {0, current refresh token}
 * when another pair than the expected one is stored (someone else saved meanwhile).
 */
const CAS_SAVE = `
local current = redis.call('HGET', KEYS[1], 'refreshToken') or ''
-- no pair at all (first save, or a Redis that lost its data): the caller's pair is the live one
if current ~= ARGV[1] and current ~= '' then return {0, current} end
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0') + 1
redis.call('HSET', KEYS[1], 'refreshToken', ARGV[2], 'accessToken', ARGV[3], 'expiresAt', ARGV[4],
  'savedAt', ARGV[5], 'savedBy', ARGV[6], 'version', version)
return {1, version}
`;

/** KEYS[1] lock; ARGV[1] the holder's random value. Deletes the lock only if it is still ours. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type ScriptClient = Redis & {
  b24omCasSave(
    key: string,
    expected: string,
    refreshToken: string,
    accessToken: string,
    expiresAt: string,
    savedAt: string,
    savedBy: string,
  ): Promise<[number, number | string]>;
  b24omRelease(key: string, value: string): Promise<number>;
};

/** Registers the scripts once per client (EVALSHA, with EVAL on NOSCRIPT, by ioredis). */
function withScripts(client: Redis): ScriptClient {
  const scripted = client as ScriptClient;
  if (typeof scripted.b24omCasSave !== 'function') {
    client.defineCommand('b24omCasSave', { numberOfKeys: 1, lua: CAS_SAVE });
    client.defineCommand('b24omRelease', { numberOfKeys: 1, lua: RELEASE });
  }
  return scripted;
}

export type SaveResult =
  | { readonly saved: true; readonly version: number }
  | { readonly saved: false; readonly current: string };

export interface RefreshOutcome {
  readonly pair: FreshPair;
  /** True when this holder sent its refresh token; false when it took a newer stored pair. */
  readonly exchanged: boolean;
  /** False when the exchange succeeded but the new pair could not be saved (keep it, save later). */
  readonly saved: boolean;
}

export interface PairStoreOptions {
  readonly prefix?: string | undefined;
  /** Written as `savedBy`. */
  readonly holder: string;
  /** How long the lock lives: longer than one OAuth request may take. @default 30000 */
  readonly leaseMs?: number | undefined;
  /** How long to wait for a lock held by someone else before giving up. @default leaseMs + 5000 */
  readonly lockWaitMs?: number | undefined;
}

export class LockTimeoutError extends Error {
  constructor(portal: string) {
    super(`The refresh lock of portal ${portal} stayed taken; try again later`);
    this.name = 'LockTimeoutError';
  }
}

/** One portal's pair in Redis. Throws the client's errors as they come (callers wrap them). */
export class PairStore {
  readonly portal: string;
  readonly keys: PairKeys;
  readonly #redis: ScriptClient;
  readonly #holder: string;
  readonly #leaseMs: number;
  readonly #lockWaitMs: number;

  constructor(redis: Redis, portal: string, options: PairStoreOptions) {
    this.portal = portal;
    this.keys = keysOf(portal, options.prefix);
    this.#redis = withScripts(redis);
    this.#holder = options.holder;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#lockWaitMs = options.lockWaitMs ?? this.#leaseMs + 5_000;
  }

  async read(): Promise<StoredPair | null> {
    const hash = await this.#redis.hgetall(this.keys.pair);
    const refreshToken = hash['refreshToken'];
    if (refreshToken === undefined || refreshToken === '') return null;
    const expiresAt = Number(hash['expiresAt']);
    return {
      refreshToken,
      accessToken: hash['accessToken'] || undefined,
      expiresAt: hash['expiresAt'] && Number.isFinite(expiresAt) ? expiresAt : undefined,
    };
  }

  /** Writes `pair` if the stored pair's refresh token is `expected` (undefined: no pair yet). */
  async save(pair: StoredPair, expected: string | undefined): Promise<SaveResult> {
    const [ok, value] = await this.#redis.b24omCasSave(
      this.keys.pair,
      expected ?? '',
      pair.refreshToken,
      pair.accessToken ?? '',
      pair.expiresAt === undefined ? '' : String(pair.expiresAt),
      new Date().toISOString(),
      this.#holder,
    );
    return ok === 1
      ? { saved: true, version: Number(value) }
      : { saved: false, current: String(value) };
  }

  /** Takes the lock, waiting while another holder has it. Returns the value that releases it. */
  async lock(signal?: AbortSignal): Promise<string> {
    const value = randomBytes(16).toString('hex');
    const deadline = Date.now() + this.#lockWaitMs;
    let wait = 10;
    for (;;) {
      const ok = await this.#redis.set(this.keys.lock, value, 'PX', this.#leaseMs, 'NX');
      if (ok === 'OK') return value;
      if (Date.now() >= deadline || signal?.aborted === true)
        throw new LockTimeoutError(this.portal);
      await new Promise((resolve) => setTimeout(resolve, wait));
      wait = Math.min(wait * 2, 200);
    }
  }

  async unlock(value: string): Promise<void> {
    await this.#redis.b24omRelease(this.keys.lock, value);
  }

  /**
   * The refresh protocol. `held` is the pair the caller used; `refusedAccessToken` the access
   * token the portal just refused, if any. Under the lock: a stored pair newer than `held`
   * whose access token is not the refused one is taken as it is; otherwise the stored (or held)
   * refresh token is exchanged and the result saved by compare-and-set. Errors before the
   * exchange propagate (nothing was spent); an exchange error propagates after unlocking; a
   * failed save after a good exchange returns `saved: false` with the new pair.
   */
  async refresh(
    held: StoredPair,
    refusedAccessToken: string | undefined,
    exchange: (refreshToken: string) => Promise<FreshPair>,
    signal?: AbortSignal,
  ): Promise<RefreshOutcome> {
    const lock = await this.lock(signal);
    try {
      const stored = await this.read();
      if (
        stored !== null &&
        stored.refreshToken !== held.refreshToken &&
        stored.accessToken !== undefined &&
        stored.accessToken !== refusedAccessToken &&
        (stored.expiresAt === undefined || stored.expiresAt > Date.now())
      ) {
        return {
          pair: { ...stored, accessToken: stored.accessToken },
          exchanged: false,
          saved: true,
        };
      }
      // the stored pair is the newest one there is (or there is none yet: the held one is the seed)
      const current = stored ?? held;
      const next = await exchange(current.refreshToken);
      let saved = false;
      try {
        saved = (await this.save(next, stored?.refreshToken)).saved;
      } catch {
        // Redis went away between the exchange and the save: the caller keeps the pair
      }
      return { pair: next, exchanged: true, saved };
    } finally {
      await this.unlock(lock).catch(() => undefined);
    }
  }
}
