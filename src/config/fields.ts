/**
 * Every setting once: its key in the config file, its environment variable, whether it is a
 * secret. The loader, the "unknown variable" warning and the example file follow this table.
 */

export interface FieldSpec {
  /** Dotted path of the key in its section of the config file (a portal, `defaults`, the top level). */
  readonly path: string;
  readonly env: string;
  /**
   * How an environment value is read: a number is converted only when it looks like one, so
   * that a wrong value reaches the schema, and the problem line, as the text given.
   */
  readonly kind: 'text' | 'int' | 'decimal';
  /** Printed as `[redacted]` and collected into `config.secrets`. */
  readonly secret: boolean;
  /** May also be given as a file: key `<path>File`, variable `<env>_FILE`. */
  readonly viaFile: boolean;
  /** Belongs to one portal: not in `defaults`, nor from the environment with several portals. */
  readonly perPortal: boolean;
  /** What it is, for "not set" problems. */
  readonly what: string;
}

function field(
  path: string,
  env: string,
  what: string,
  options: Partial<Pick<FieldSpec, 'kind' | 'secret' | 'viaFile' | 'perPortal'>> = {},
): FieldSpec {
  return {
    path,
    env,
    what,
    kind: options.kind ?? 'text',
    secret: options.secret ?? false,
    viaFile: options.viaFile ?? options.secret ?? false,
    perPortal: options.perPortal ?? false,
  };
}

export const PORTAL_FIELDS: readonly FieldSpec[] = [
  field(
    'url',
    'B24_PORTAL_URL',
    "the portal's REST endpoint (client_endpoint), e.g. https://example.bitrix24.com/rest/",
    {
      perPortal: true,
    },
  ),
  field('name', 'B24_PORTAL_NAME', 'the value of the portal label', { perPortal: true }),
  field(
    'clientId',
    'B24_CLIENT_ID',
    'the client_id of the OAuth application that registered the offline handlers',
    {
      viaFile: true,
    },
  ),
  field('clientSecret', 'B24_CLIENT_SECRET', 'the client_secret of that OAuth application', {
    secret: true,
  }),
  field('refreshToken', 'B24_REFRESH_TOKEN', 'a refresh token of an administrator of the portal', {
    secret: true,
    perPortal: true,
  }),
  field('accessToken', 'B24_ACCESS_TOKEN', 'a first access token', {
    secret: true,
    perPortal: true,
  }),
  field('oauthUrl', 'B24_OAUTH_URL', 'the OAuth token endpoint'),
  field('tokenFile', 'B24_TOKEN_FILE', 'the file that keeps the rotating token pair', {
    perPortal: true,
  }),
  field('schedule', 'MONITOR_SCHEDULE', 'a node-cron expression'),
  field('strategy', 'MONITOR_STRATEGY', 'scan, count or auto'),
  field('scanMaxRows', 'MONITOR_SCAN_MAX_ROWS', 'a number of rows', { kind: 'int' }),
  field('maxEventNames', 'MONITOR_MAX_EVENT_NAMES', 'a number of event names', { kind: 'int' }),
  field('dbTimeShare', 'MONITOR_DB_TIME_SHARE', 'a share of wall time, e.g. 0.05', {
    kind: 'decimal',
  }),
  field('pollTimeoutMs', 'MONITOR_POLL_TIMEOUT', 'milliseconds', { kind: 'int' }),
  field('staleAfterMs', 'MONITOR_STALE_AFTER', 'milliseconds', { kind: 'int' }),
  field('requestTimeoutMs', 'MONITOR_REQUEST_TIMEOUT', 'milliseconds', { kind: 'int' }),
  field('rateLimit.capacity', 'MONITOR_RATE_LIMIT_CAPACITY', 'a number of requests', {
    kind: 'int',
  }),
  field('rateLimit.drainPerSecond', 'MONITOR_RATE_LIMIT_PER_SECOND', 'requests per second', {
    kind: 'decimal',
  }),
  field('authConnector', 'B24_AUTH_CONNECTOR', 'an auth_connector name'),
];

export const TOP_FIELDS: readonly FieldSpec[] = [
  field('listen', 'MONITOR_LISTEN', 'host:port'),
  field('logLevel', 'LOG_LEVEL', 'a pino level'),
  field('maxConcurrentPolls', 'MONITOR_MAX_CONCURRENT_POLLS', 'a number of polls', { kind: 'int' }),
  field('shards', 'MONITOR_SHARDS', 'a number of shards', { kind: 'int' }),
  field('shard', 'MONITOR_SHARD', 'a 0-based shard number or auto'),
  // not `secret`: the value `file` must not be scrubbed from every log line; the URL's
  // password is added to the secrets by the loader, and problems show it redacted (URL_KEYS)
  field('tokenStore', 'MONITOR_TOKEN_STORE', 'file or a redis:// URL', { viaFile: true }),
  field('httpAuth.bearerToken', 'MONITOR_HTTP_BEARER_TOKEN', 'a bearer token', { secret: true }),
  field('httpAuth.basic.username', 'MONITOR_HTTP_BASIC_USER', 'a user name'),
  field('httpAuth.basic.password', 'MONITOR_HTTP_BASIC_PASSWORD', 'a password', { secret: true }),
];

/** Every variable the loader reads, `_FILE` variants included. */
export const ENV_VARIABLES: readonly string[] = [
  'MONITOR_CONFIG',
  ...[...PORTAL_FIELDS, ...TOP_FIELDS].flatMap((spec) =>
    spec.viaFile ? [spec.env, `${spec.env}_FILE`] : [spec.env],
  ),
];

/** Keys whose values are printed as `[redacted]` wherever they appear in the file. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(
  [...PORTAL_FIELDS, ...TOP_FIELDS]
    .filter((spec) => spec.secret)
    .map((spec) => spec.path.split('.').at(-1) ?? spec.path),
);

export const URL_KEYS: ReadonlySet<string> = new Set(['url', 'oauthUrl', 'tokenStore']);
