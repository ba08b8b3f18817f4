/**
 * The exchange of a refresh token for a new pair at the OAuth server, as a holder makes it:
 * counted (`refresh(ok)`), logged (an error when an administrator must act, a warning when it
 * may pass), and a refresh token refused for good remembered, so that it is not sent again.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { Clock } from './clock.js';
import { AuthError, MonitorError, NetworkError } from './errors.js';
import { type OAuthClientOptions, refreshTokenPair } from './oauth.js';
import type { TokenPair } from './tokenStore.js';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUTS, type Timeouts } from './httpExchange.js';
import type { ClientObserver } from './types.js';

/** A pair fresh from the OAuth server: it always has an access token. */
export type FreshTokenPair = TokenPair & { readonly accessToken: string };

/** Exchanges a refresh token for a new pair; the default calls the OAuth endpoint. */
export type RefreshExchange = (refreshToken: string) => Promise<FreshTokenPair>;

/** The exchange at the OAuth endpoint of `oauth`. */
export function oauthExchange(
  oauth: OAuthClientOptions,
  http: {
    readonly dispatcher?: Dispatcher | undefined;
    readonly timeouts?: Partial<Timeouts> | undefined;
    readonly maxBodyBytes?: number | undefined;
  },
  clock: Pick<Clock, 'now'>,
): RefreshExchange {
  const transport = {
    dispatcher: http.dispatcher,
    timeouts: { ...DEFAULT_TIMEOUTS, ...http.timeouts },
    maxBodyBytes: http.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
  };
  return (refreshToken) => refreshTokenPair(refreshToken, oauth, transport, clock.now());
}

export class ObservedExchange {
  readonly #exchange: RefreshExchange;
  readonly #observer: Pick<ClientObserver, 'refresh'>;
  readonly #logger: Logger;
  /** The refresh token the OAuth server refused for good, and how. */
  #refused: { readonly refreshToken: string; readonly error: AuthError } | undefined;

  constructor(
    exchange: RefreshExchange,
    observer: Pick<ClientObserver, 'refresh'>,
    logger: Logger,
  ) {
    this.#exchange = exchange;
    this.#observer = observer;
    this.#logger = logger;
  }

  /** The new pair for `refreshToken`; throws what the exchange throws, counted and logged. */
  async run(refreshToken: string): Promise<FreshTokenPair> {
    let next: FreshTokenPair;
    try {
      next = await this.#exchange(refreshToken);
    } catch (error) {
      this.#observer.refresh(false);
      logRefreshFailure(this.#logger, error);
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

  /** How the OAuth server refused `refreshToken` for good, if it did. */
  refusalOf(refreshToken: string): AuthError | undefined {
    return this.#refused?.refreshToken === refreshToken ? this.#refused.error : undefined;
  }

  /** A new refresh token replaced the refused one. */
  forgetRefusal(): void {
    this.#refused = undefined;
  }
}

/** The most specific code of an error, for the `code` field of a log line. */
function logCodeOf(error: unknown): string {
  if (error instanceof AuthError) return error.apiCode;
  if (error instanceof NetworkError) return error.netCode;
  if (error instanceof MonitorError) return 'apiCode' in error ? String(error.apiCode) : error.code;
  return 'UNKNOWN';
}

/** Static messages; the code, reason and a message that is safe to log go in fields. */
function logRefreshFailure(logger: Logger, error: unknown): void {
  const fields = {
    code: logCodeOf(error),
    reason: error instanceof MonitorError ? error.reason : undefined,
    // Messages of MonitorErrors are built to be safe: no token, no secret, no OAuth URL.
    error: error instanceof MonitorError ? error.message : 'unexpected error',
  };
  if (error instanceof AuthError && error.reason === 'payment') {
    logger.error(fields, "Token refresh refused: the application's subscription lapsed");
  } else if (error instanceof AuthError) {
    logger.error(fields, 'Token refresh refused: the application must be re-authorized');
  } else {
    logger.warn(fields, 'Token refresh failed');
  }
}
