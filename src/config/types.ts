/** The validated configuration the composition root is built from, typed from settings.ts. */
import type { z } from 'zod';

import type { PORTAL, TOP, Values } from './settings.js';

type PortalValues = Values<typeof PORTAL>;
type TopValues = Values<typeof TOP>;

export type PollStrategy = z.output<(typeof PORTAL)['strategy']['type']>;

/** Settings a portal is refused without (clientId, clientSecret) or that are derived when not given. */
type Settled<K extends keyof PortalValues> = { readonly [P in K]-?: NonNullable<PortalValues[P]> };

export type PortalConfig = Omit<
  PortalValues,
  'url' | 'rateLimit.capacity' | 'rateLimit.drainPerSecond'
> &
  Settled<'name' | 'tokenFile' | 'clientId' | 'clientSecret'> & {
    /** The `url` setting, ending with `/`. */
    readonly restUrl: string;
    readonly rateLimit: {
      readonly capacity: PortalValues['rateLimit.capacity'];
      readonly drainPerSecond: PortalValues['rateLimit.drainPerSecond'];
    };
  };

export interface HttpAuthConfig {
  readonly bearerToken?: string | undefined;
  readonly basic?: { readonly username: string; readonly password: string } | undefined;
}

export type MonitorConfig = Pick<
  TopValues,
  'listen' | 'logLevel' | 'maxConcurrentPolls' | 'shards'
> & {
  readonly portals: readonly PortalConfig[];
  readonly httpAuth?: HttpAuthConfig | undefined;
  /** Every secret value in the config, for redaction and leak checks. */
  readonly secrets: readonly string[];
  /** This process's 0-based shard, `auto` already resolved. */
  readonly shard: number;
  /** undefined = token files; else a redis:// or rediss:// URL (a secret). */
  readonly tokenStore?: string | undefined;
  /** Absolute path of the config file read, if any: for the start-up log. */
  readonly configFile?: string | undefined;
};
