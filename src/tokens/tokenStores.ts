/**
 * The token stores of the composition root: the token files of each portal (undefined here:
 * createPortalClient makes them), or one Redis connection that every portal's store shares,
 * with the `b24_offline_token_store_up` gauge and one log line per outage.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { TokenStore } from '../b24/tokenStore.js';
import type { PortalConfig } from '../config/types.js';
import { RedisConnection } from './redisConnection.js';
import { RedisTokenStore } from './redisTokenStore.js';

export interface TokenStores {
  /** Undefined: the portal's token file. */
  storeFor(portal: PortalConfig): TokenStore | undefined;
  close(): Promise<void>;
}

export function createTokenStores(
  url: string | undefined,
  logger: Logger,
  registry: Registry,
): TokenStores {
  if (url === undefined) return { storeFor: () => undefined, close: async () => undefined };
  const up = new Gauge({
    name: 'b24_offline_token_store_up',
    help: '1 while the shared token store (Redis) answers; 0 while the monitor polls on with the pairs it holds',
    registers: [registry],
  });
  up.set(0);
  const connection = new RedisConnection(url, {
    onChange(isUp, code) {
      up.set(isUp ? 1 : 0);
      if (isUp) {
        logger.info({ store: connection.display }, 'Token store reachable');
      } else {
        logger.warn(
          { store: connection.display, code },
          'Token store unreachable; polling goes on with the token pairs in memory',
        );
      }
    },
  });
  const holder = `monitor@${hostname()}`;
  return {
    storeFor: (portal) =>
      new RedisTokenStore(connection, portal.name, {
        holder,
        // the lock outlives one OAuth request (bounded by the request timeout)
        leaseMs: portal.requestTimeoutMs + 5_000,
      }),
    close: () => connection.close(),
  };
}
