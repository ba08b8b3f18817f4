/**
 * Everything one portal's REST access needs, built from its validated config: the token file,
 * the token manager, the client-side bucket and the client. For the composition root.
 */
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { PortalConfig } from '../config/types.js';
import type { SecretSink } from '../runtime/secrets.js';
import { type B24RestClient, createRestClient } from './client.js';
import type { Clock } from './clock.js';
import { RateLimiter } from './rateLimiter.js';
import { FileTokenStore } from './fileTokenStore.js';
import type { TokenStore } from './tokenStore.js';
import { TokenManager } from './tokens.js';
import type { Timeouts } from './httpExchange.js';
import type { ClientObserver } from './types.js';

export interface PortalClientDeps {
  /** Per-portal hooks (the metrics layer binds the `portal` label). */
  readonly observer: ClientObserver;
  /** Ideally already a child with `{ portal }`. */
  readonly logger: Logger;
  /** Shared by REST and OAuth requests. @default the client's own Agent (closed by close()) */
  readonly dispatcher?: Dispatcher | undefined;
  readonly clock?: Clock | undefined;
  /** Told each portal's pair in use, for log scrubbing. */
  readonly secrets?: SecretSink | undefined;
  /** Where the pair lives. @default the portal's token file */
  readonly store?: TokenStore | undefined;
}

export interface PortalClient {
  readonly client: B24RestClient;
  readonly tokens: TokenManager;
  readonly limiter: RateLimiter;
}

/**
 * Timeouts from `requestTimeoutMs`: it bounds the whole exchange and each wait inside it;
 * connecting gets at most 10 s of it.
 */
export function timeoutsFor(requestTimeoutMs: number): Timeouts {
  return {
    connectMs: Math.min(10_000, requestTimeoutMs),
    headersMs: requestTimeoutMs,
    bodyMs: requestTimeoutMs,
    totalMs: requestTimeoutMs,
  };
}

export function createPortalClient(portal: PortalConfig, deps: PortalClientDeps): PortalClient {
  const timeouts = timeoutsFor(portal.requestTimeoutMs);
  const tokens = new TokenManager({
    portal: portal.name,
    store:
      deps.store ??
      new FileTokenStore(portal.tokenFile, {
        warn: (detail) => deps.logger.warn({ path: portal.tokenFile, detail }, 'Token file unsafe'),
      }),
    seed: { refreshToken: portal.refreshToken, accessToken: portal.accessToken },
    oauth: {
      oauthUrl: portal.oauthUrl,
      clientId: portal.clientId,
      clientSecret: portal.clientSecret,
    },
    observer: deps.observer,
    logger: deps.logger,
    dispatcher: deps.dispatcher,
    timeouts,
    clock: deps.clock,
    secrets: deps.secrets,
  });
  const limiter = new RateLimiter({ ...portal.rateLimit, clock: deps.clock });
  const client = createRestClient({
    restUrl: portal.restUrl,
    tokens,
    observer: deps.observer,
    logger: deps.logger,
    dispatcher: deps.dispatcher,
    limiter,
    clock: deps.clock,
    timeouts,
    authConnector: portal.authConnector,
  });
  return { client, tokens, limiter };
}
