/**
 * Every setting, declared once: its key in the config file, its environment variable, its
 * type, its default and one line of help. The loader, the types (types.ts), the README's
 * settings table and the `# env:` comments of config/monitor.example.yaml are derived from
 * this table (`npm run generate:config-docs`; test/config/docs.test.ts fails on drift).
 *
 * Precedence, setting by setting: environment variable > the portal's entry in the file >
 * `defaults` in the file (top-level keys for top-level settings) > the default below.
 */
import type { z } from 'zod';

import * as v from './checks.js';

interface Options {
  /** One line of help, a noun phrase ("the OAuth token endpoint"): also says what a "not set" problem expects. */
  readonly help: string;
  /** As a user would write it; parsed by `type`. Absent: none, or `shown` says how it is found. */
  readonly default?: string | number;
  /** The default column of the docs when there is no literal default. */
  readonly shown?: string;
  /** Printed as `[redacted]` and collected into `config.secrets`; implies `viaFile`. */
  readonly secret?: boolean;
  /** May also be given as a file: key `<key>File`, variable `<env>_FILE`. */
  readonly viaFile?: boolean;
  /** A URL that may carry credentials: shown with them redacted. */
  readonly url?: boolean;
  /** Belongs to one portal: not in `defaults`, nor from the environment with several portals. */
  readonly own?: boolean;
}

interface Setting extends Options {
  /** The variable; `<env>_FILE` too when `viaFile`. */
  readonly env: string;
  readonly type: z.ZodType;
}

function def<T extends z.ZodType, const O extends Options>(env: string, type: T, options: O) {
  return { env, type, ...options };
}

/** Settings of a portal (in its entry, in `defaults` unless `own`, or from the environment). */
export const PORTAL = {
  url: def('B24_PORTAL_URL', v.RestUrl, {
    help: "the portal's REST endpoint (`client_endpoint`), e.g. https://example.bitrix24.com/rest/",
    shown: 'required',
    url: true,
    own: true,
  }),
  name: def('B24_PORTAL_NAME', v.PortalName, {
    help: 'the value of the `portal` label',
    shown: 'the host of the URL',
    own: true,
  }),
  clientId: def('B24_CLIENT_ID', v.ClientId, {
    help: 'the client_id of the OAuth application that registered the offline handlers',
    shown: 'required',
    viaFile: true,
  }),
  clientSecret: def('B24_CLIENT_SECRET', v.Secret, {
    help: 'the client_secret of that OAuth application',
    shown: 'required',
    secret: true,
  }),
  refreshToken: def('B24_REFRESH_TOKEN', v.Secret, {
    help: 'a refresh token of an administrator of the portal, used when the token file has none',
    shown: 'required unless the token file has one (`auth` writes it) or Redis holds a pair',
    secret: true,
    own: true,
  }),
  accessToken: def('B24_ACCESS_TOKEN', v.Secret, {
    help: 'an optional first access token',
    shown: 'none',
    secret: true,
    own: true,
  }),
  oauthUrl: def('B24_OAUTH_URL', v.OauthUrl, {
    help: 'the OAuth token endpoint',
    default: 'https://oauth.bitrix.info/oauth/token/',
    url: true,
  }),
  tokenFile: def('B24_TOKEN_FILE', v.FilePath, {
    help: 'the file that keeps the rotating token pair between restarts',
    shown: '`./data/<portal name>.tokens.json`',
    own: true,
  }),
  schedule: def('MONITOR_SCHEDULE', v.Schedule, {
    help: 'a node-cron expression of the poll (seconds field allowed)',
    default: '*/30 * * * * *',
  }),
  strategy: def('MONITOR_STRATEGY', v.Strategy, {
    help: 'how the queue is read: scan, count or auto (see How it polls)',
    default: 'auto',
  }),
  scanMaxRows: def('MONITOR_SCAN_MAX_ROWS', v.whole('rows'), {
    help: 'a number of rows; no longer used (auto counts at every depth), accepted so old configurations start',
    default: 1000,
  }),
  maxEventNames: def('MONITOR_MAX_EVENT_NAMES', v.whole('event names'), {
    help: 'a number of event names of a portal with series of their own; the rest count as `other`',
    default: 500,
  }),
  dbTimeShare: def('MONITOR_DB_TIME_SHARE', v.DbTimeShare, {
    help: "a share of wall time the monitor's database time on a portal may take, e.g. 0.05",
    default: 0.05,
  }),
  pollTimeoutMs: def('MONITOR_POLL_TIMEOUT', v.Milliseconds, {
    help: 'milliseconds: the deadline of one poll',
    default: 25_000,
  }),
  staleAfterMs: def('MONITOR_STALE_AFTER', v.Milliseconds, {
    help: 'milliseconds: queue gauges older than this are removed rather than served',
    default: 300_000,
  }),
  requestTimeoutMs: def('MONITOR_REQUEST_TIMEOUT', v.Milliseconds, {
    help: 'milliseconds: the timeout of each HTTP request to the portal or the OAuth server',
    default: 15_000,
  }),
  'rateLimit.capacity': def('MONITOR_RATE_LIMIT_CAPACITY', v.whole('requests'), {
    help: 'a number of requests the client-side bucket holds (burst; the portal allows 50)',
    default: 10,
  }),
  'rateLimit.drainPerSecond': def('MONITOR_RATE_LIMIT_PER_SECOND', v.PerSecond, {
    help: 'requests per second the bucket drains (the portal allows 2, shared with your app)',
    default: 1,
  }),
  authConnector: def('B24_AUTH_CONNECTOR', v.AuthConnector, {
    help: 'an `auth_connector` name: watch the rows of this connector',
    shown: 'rows with none',
  }),
} as const satisfies Record<string, Setting>;

/** Settings of the process: top-level keys of the file. */
export const TOP = {
  listen: def('MONITOR_LISTEN', v.Listen, {
    help: '`host:port` of the HTTP server; loopback unless you choose to expose it',
    default: '127.0.0.1:9464',
  }),
  logLevel: def('LOG_LEVEL', v.Level, { help: 'a pino level', default: 'info' }),
  maxConcurrentPolls: def('MONITOR_MAX_CONCURRENT_POLLS', v.whole('polls'), {
    help: 'a number of polls in flight across all portals',
    default: 8,
  }),
  shards: def('MONITOR_SHARDS', v.Shards, {
    help: 'a number of shards that share the portals (see Shards)',
    default: 1,
  }),
  shard: def('MONITOR_SHARD', v.Shard, {
    help: "a 0-based shard number of this process, or auto (the host name's trailing number)",
    default: 0,
  }),
  // not `secret`: the value `file` must not be scrubbed from every log line; the URL's
  // password is added to the secrets by the loader, and problems show it redacted
  tokenStore: def('MONITOR_TOKEN_STORE', v.TokenStore, {
    help: 'where token pairs live: `file`, or `redis://[user:password@]host:port/db` (`rediss://` too)',
    shown: '`file`',
    viaFile: true,
    url: true,
  }),
  'httpAuth.bearerToken': def('MONITOR_HTTP_BEARER_TOKEN', v.Secret, {
    help: 'a bearer token required on `/metrics` and `/`',
    shown: 'open',
    secret: true,
  }),
  'httpAuth.basic.username': def('MONITOR_HTTP_BASIC_USER', v.UserName, {
    help: 'a user name of basic authentication on `/metrics` and `/`',
    shown: 'open',
  }),
  'httpAuth.basic.password': def('MONITOR_HTTP_BASIC_PASSWORD', v.Secret, {
    help: 'a password of basic authentication on `/metrics` and `/`',
    shown: 'open',
    secret: true,
  }),
} as const satisfies Record<string, Setting>;

/** The one variable that is not a setting: it names the file of the others. */
export const CONFIG_VARIABLE = {
  env: 'MONITOR_CONFIG',
  help: 'the path of a YAML or JSON config file',
  shown: 'none',
};

export type SettingSpec = Setting & { readonly key: string };

function specs(table: Record<string, Setting>): readonly SettingSpec[] {
  return Object.entries(table).map(([key, setting]) => ({ ...setting, key }));
}
export const PORTAL_SPECS = specs(PORTAL);
export const TOP_SPECS = specs(TOP);

/** Whether the setting may be given as a file (`<key>File`, `<env>_FILE`). */
export const viaFile = (spec: Setting): boolean => spec.viaFile === true || spec.secret === true;

/** Every variable the loader reads, `_FILE` variants included. */
export const ENV_VARIABLES: readonly string[] = [
  CONFIG_VARIABLE.env,
  ...[...PORTAL_SPECS, ...TOP_SPECS].flatMap((spec) =>
    viaFile(spec) ? [spec.env, `${spec.env}_FILE`] : [spec.env],
  ),
];

type Table = Readonly<Record<string, Setting>>;
type WithDefault<T extends Table> = {
  [K in keyof T]: T[K] extends { default: unknown } ? K : never;
}[keyof T];
/** The default of each setting that has one, parsed by its type: `listen` is `{ host, port }`. */
type Defaults<T extends Table> = { readonly [K in WithDefault<T>]: z.output<T[K]['type']> };
/** The value of each setting of a table, as the loader gives it: with a default, always set. */
export type Values<T extends Table> = Defaults<T> & {
  readonly [K in Exclude<keyof T, WithDefault<T>>]?: z.output<T[K]['type']> | undefined;
};

function defaultsOf<T extends Table>(table: T): Defaults<T> {
  const values: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(table)) {
    if (setting.default !== undefined) values[key] = setting.type.parse(setting.default);
  }
  return values as Defaults<T>;
}

/** Where code outside the loader needs a default (an option left out in tests and benches). */
export const PORTAL_DEFAULTS = defaultsOf(PORTAL);
export const TOP_DEFAULTS = defaultsOf(TOP);
