/**
 * What a simulated portal is made from: the settings that may change while it runs
 * (`portal.configure`), the options it starts with, and what the server provides it. The
 * client id and secret of the installed application default to fixed values, so a monitor's
 * example configuration works against a fresh simulator.
 */
import type { Clock } from './clock.js';
import type { OfflineListBackend } from './listBackend.js';
import type { OperatingLimitOptions, RateLimitOptions } from './limits.js';
import type { ConsentOptions, OAuthServer } from './oauth.js';
import type { Random } from './random.js';

export const DEFAULT_CLIENT_ID = 'local.sim0000000000.00000000';
export const DEFAULT_CLIENT_SECRET = 'SimClientSecret0123456789abcdefghijklmnopqrstuvwxy';

/** Settings that can change while the portal runs (`portal.configure`). */
export interface PortalSettings {
  /** @default 3600 */
  readonly accessTokenTtlSec?: number;
  /**
   * The request-rate bucket, one per source address; null disables it.
   * @default { capacity: 50, drainPerSecond: 2 }
   */
  readonly rateLimit?: RateLimitOptions | null;
  /**
   * Operating time per method and its cost model; null disables it (no 429, no operating
   * figures in `time`). @default DEFAULT_OPERATING_LIMIT (480 s per 600 s, no added cost)
   */
  readonly operatingLimit?: Partial<OperatingLimitOptions> | null;
  /** `feature.get rest_offline_extended`; without it `event.offline.get` always clears. @default true */
  readonly offlineExtended?: boolean;
  /** `event.offline.list` allowed inside a batch. @default true */
  readonly batchAllowed?: boolean;
  /** Every REST call answers 503 OVERLOAD_LIMIT. @default false */
  readonly overload?: boolean;
  /**
   * The plan has connectors (Professional and above); without them a request with a non-empty
   * `auth_connector` answers 403 WRONG_LICENSE. @default true
   */
  readonly connectorsAllowed?: boolean;
  /**
   * `event.offline.list` answers carry no `total` (nor `result_total` in a batch), as the
   * docs' rule for `start=-1` would have it: for clients that must cope without. @default false
   */
  readonly omitListTotal?: boolean;
  /**
   * The app's handler URL: where `/oauth/authorize/` redirects with the code. null: the page
   * answers 400. @default null
   */
  readonly handlerUrl?: string | null;
  /** Who consents on `/oauth/authorize/` (and labels the new chain). @default an administrator, holder 'monitor' */
  readonly consent?: ConsentOptions;
}

export interface SimPortalOptions extends PortalSettings {
  /** @default DEFAULT_CLIENT_ID */
  readonly clientId?: string;
  /** @default DEFAULT_CLIENT_SECRET */
  readonly clientSecret?: string;
  /** @default `<id>.bitrix24.sim` */
  readonly domain?: string;
  /** The portal's UTC offset: `+03:00` or minutes. @default '+03:00' */
  readonly timezone?: string | number;
  /** Event names bound offline from the start. @default [] */
  readonly events?: readonly string[];
  /** @default 'crm' */
  readonly scope?: string;
  /** `status` of the token answer. @default 'L' */
  readonly appStatus?: string;
  /** ID of the first queued row. @default 1 */
  readonly firstId?: number;
  /** Journal entries kept. @default 100000 */
  readonly journalCapacity?: number;
  /** PRNG for faults and generated ids of this portal. @default seeded from the server's seed and the id */
  readonly random?: Random;
  /** Answers `event.offline.list` from elsewhere (the SQL-backed portal, src/sim/sql). @default null: the in-memory queue */
  readonly listBackend?: OfflineListBackend | null;
}

/** Where the portal lives; provided by the server. */
export interface PortalContext {
  readonly clock: Clock;
  readonly oauth: OAuthServer;
  /** `http://127.0.0.1:PORT` */
  readonly baseUrl: string;
  /** Default PRNGs, when the options bring none. */
  readonly faultRandom: Random;
  readonly idRandom: Random;
}
