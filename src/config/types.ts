/** The validated configuration the composition root is built from. Produced by config/load.ts. */

export type PollStrategy = 'scan' | 'count' | 'auto';

interface RateLimitConfig {
  /** Requests the client-side bucket holds (burst). @default 10 */
  readonly capacity: number;
  /** Requests per second the bucket drains. @default 1 (half the portal's 2/s: the app shares it) */
  readonly drainPerSecond: number;
}

export interface PortalConfig {
  /** Value of the `portal` label. @default host of restUrl */
  readonly name: string;
  /** The portal's REST endpoint (`client_endpoint`), ending with `/`. */
  readonly restUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Seed refresh token, used when the token file has none. */
  readonly refreshToken?: string | undefined;
  readonly accessToken?: string | undefined;
  /** @default https://oauth.bitrix.info/oauth/token/ */
  readonly oauthUrl: string;
  /** @default ./data/<portal name>.tokens.json */
  readonly tokenFile: string;
  /** node-cron expression. @default every 30 s */
  readonly schedule: string;
  /** @default auto */
  readonly strategy: PollStrategy;
  /** No longer used (auto counts at every depth); still accepted so old configurations start. @default 1000 */
  readonly scanMaxRows: number;
  /**
   * Event names of the portal with series of their own; the rest add up under
   * `event_name="other"`. @default 500
   */
  readonly maxEventNames: number;
  /**
   * Share of wall time the monitor's database time on the portal may take (the processing
   * time the portal reports); the breakdowns are refreshed as often as it allows. @default 0.05
   */
  readonly dbTimeShare: number;
  /** Deadline of one poll. @default 25000 */
  readonly pollTimeoutMs: number;
  /** Queue gauges older than this are removed rather than served. @default 300000 */
  readonly staleAfterMs: number;
  /** Per-request timeouts. */
  readonly requestTimeoutMs: number;
  readonly rateLimit: RateLimitConfig;
  /** `auth_connector` of the rows to watch; none = rows with no connector. */
  readonly authConnector?: string | undefined;
}

export interface HttpAuthConfig {
  /** Bearer token required on `/metrics` and `/`. */
  readonly bearerToken?: string | undefined;
  /** Basic auth required on `/metrics` and `/`. */
  readonly basic?: { readonly username: string; readonly password: string } | undefined;
}

export interface MonitorConfig {
  /** Where the HTTP server listens; an IPv6 host comes without brackets. @default 127.0.0.1:9464 */
  readonly listen: { readonly host: string; readonly port: number };
  /** pino level. @default info */
  readonly logLevel: string;
  readonly portals: readonly PortalConfig[];
  /** Polls running at once across all portals. @default 8 */
  readonly maxConcurrentPolls: number;
  readonly httpAuth?: HttpAuthConfig | undefined;
  /** Every secret value in the config, for redaction and leak checks. */
  readonly secrets: readonly string[];
  /** How many shards share the portals (MONITOR_SHARDS). @default 1 */
  readonly shards: number;
  /** This process's 0-based shard, `auto` already resolved (MONITOR_SHARD). @default 0 */
  readonly shard: number;
  /** Where token pairs live: undefined = token files; else a redis:// or rediss:// URL (a secret). */
  readonly tokenStore?: string | undefined;
  /** Absolute path of the config file read (`MONITOR_CONFIG`), if any: for the start-up log. */
  readonly configFile?: string | undefined;
}
