/**
 * The shape of the config file, and of each setting wherever it comes from: the environment
 * reader builds the same objects from variables and validates them with these schemas.
 * Every message is the "expected ..." text of a problem line.
 */
import { z } from 'zod';

import type { Check } from './checks.js';
import {
  HTTPS_EXPECTED,
  LISTEN_EXPECTED,
  checkCron,
  checkOauthUrl,
  checkRestUrl,
  parseListen,
} from './checks.js';
import { Shard, Shards, TokenStoreSetting } from './scale.js';
import type { PollStrategy } from './types.js';

const POLL_STRATEGIES = ['scan', 'count', 'auto'] as const satisfies readonly PollStrategy[];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Longest delay `setTimeout` takes; a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A string setting with its own check; a value of another type gets the same message. */
function checked<T>(check: (raw: string) => Check<T>, typeExpected: string) {
  return z.string({ error: typeExpected }).transform((raw, ctx) => {
    const result = check(raw);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.expected });
    return z.NEVER;
  });
}

function text(expected: string, max = 500) {
  return z
    .string({ error: expected })
    .trim()
    .min(1, { error: expected })
    .max(max, { error: expected })
    .refine((value) => !CONTROL.test(value), { error: expected });
}

function positiveInteger(expected: string, max = Number.MAX_SAFE_INTEGER) {
  return z
    .number({ error: expected })
    .int({ error: expected })
    .min(1, { error: expected })
    .max(max, { error: expected });
}

function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const expected = `expected one of ${values.join(', ')}`;
  return z
    .string({ error: expected })
    .trim()
    .toLowerCase()
    .pipe(z.enum(values, { error: expected }));
}

export const Secret = z
  .string({ error: 'expected a string (quote it in YAML if it looks like a number)' })
  .min(1, { error: 'expected a non-empty value' })
  .refine((value) => !CONTROL.test(value), {
    error: 'expected a single line without control characters',
  });

const FilePath = text('expected a file path');

const PortalName = text(
  'expected a non-empty name without control characters, at most 200 characters',
  200,
);

export const ClientId = text(
  'expected the client_id of the OAuth application, e.g. app.5f3c1e2a4b6d7.12345678',
);

const RestUrl = checked(checkRestUrl, HTTPS_EXPECTED);

const OauthUrl = checked(checkOauthUrl, HTTPS_EXPECTED);

const Schedule = checked(checkCron, 'expected a node-cron expression such as "*/30 * * * * *"');

const Listen = checked(parseListen, LISTEN_EXPECTED);

const Strategy = oneOf(POLL_STRATEGIES);

const Level = oneOf(LOG_LEVELS);

const Milliseconds = positiveInteger(
  `expected a positive whole number of milliseconds, at most ${MAX_TIMER_MS}`,
  MAX_TIMER_MS,
);

const RowCount = positiveInteger('expected a positive whole number of rows');

const NameCount = positiveInteger('expected a positive whole number of event names');
/** The share of wall time the monitor's database time on a portal may take. */
const DbTimeShare = z
  .number({ error: 'expected a share of wall time between 0 and 1, e.g. 0.05' })
  .positive({ error: 'expected a share of wall time between 0 and 1, e.g. 0.05' })
  .max(1, { error: 'expected a share of wall time between 0 and 1, e.g. 0.05' });

const AuthConnector = text('expected a non-empty auth_connector name');

const RateLimitFile = z.strictObject(
  {
    capacity: positiveInteger('expected a positive whole number of requests').optional(),
    drainPerSecond: z
      .number({ error: 'expected a positive number of requests per second' })
      .positive({ error: 'expected a positive number of requests per second' })
      .max(1000, { error: 'expected a positive number of requests per second, at most 1000' })
      .optional(),
  },
  { error: 'expected a mapping with capacity and/or drainPerSecond' },
);

/** One entry of `portals:`. Secrets may be given inline or as `xxxFile` paths. */
export const PortalFile = z.strictObject(
  {
    name: PortalName.optional(),
    url: RestUrl.optional(),
    clientId: ClientId.optional(),
    clientIdFile: FilePath.optional(),
    clientSecret: Secret.optional(),
    clientSecretFile: FilePath.optional(),
    refreshToken: Secret.optional(),
    refreshTokenFile: FilePath.optional(),
    accessToken: Secret.optional(),
    accessTokenFile: FilePath.optional(),
    oauthUrl: OauthUrl.optional(),
    tokenFile: FilePath.optional(),
    schedule: Schedule.optional(),
    strategy: Strategy.optional(),
    scanMaxRows: RowCount.optional(),
    maxEventNames: NameCount.optional(),
    dbTimeShare: DbTimeShare.optional(),
    pollTimeoutMs: Milliseconds.optional(),
    staleAfterMs: Milliseconds.optional(),
    requestTimeoutMs: Milliseconds.optional(),
    rateLimit: RateLimitFile.optional(),
    authConnector: AuthConnector.optional(),
  },
  { error: 'expected a mapping of portal settings (url, clientId, ...)' },
);
export type PortalFile = z.infer<typeof PortalFile>;

/** Keys that belong to one portal: not allowed in `defaults`. */
export const PER_PORTAL_KEYS = [
  'name',
  'url',
  'tokenFile',
  'refreshToken',
  'refreshTokenFile',
  'accessToken',
  'accessTokenFile',
] as const satisfies readonly (keyof PortalFile)[];

/** `defaults:`, merged under every portal. */
export const DefaultsFile = PortalFile.omit({
  name: true,
  url: true,
  tokenFile: true,
  refreshToken: true,
  refreshTokenFile: true,
  accessToken: true,
  accessTokenFile: true,
});
export type DefaultsFile = z.infer<typeof DefaultsFile>;

const BasicAuthFile = z.strictObject(
  {
    // RFC 7617: the user-id cannot contain a colon.
    username: text('expected a non-empty user name without ":"', 200)
      .refine((value) => !value.includes(':'), {
        error: 'expected a non-empty user name without ":"',
      })
      .optional(),
    password: Secret.optional(),
    passwordFile: FilePath.optional(),
  },
  { error: 'expected a mapping with username and password (or passwordFile)' },
);

const HttpAuthFile = z.strictObject(
  {
    bearerToken: Secret.optional(),
    bearerTokenFile: FilePath.optional(),
    basic: BasicAuthFile.optional(),
  },
  { error: 'expected a mapping with bearerToken and/or basic' },
);

/** The whole file. `defaults` and `portals` are checked entry by entry (see load.ts). */
export const MonitorFile = z.strictObject({
  listen: Listen.optional(),
  logLevel: Level.optional(),
  maxConcurrentPolls: positiveInteger('expected a positive whole number of polls').optional(),
  httpAuth: HttpAuthFile.optional(),
  shards: Shards.optional(),
  shard: Shard.optional(),
  tokenStore: TokenStoreSetting.optional(),
  tokenStoreFile: FilePath.optional(),
  defaults: z.unknown().optional(),
  portals: z.unknown().optional(),
});
export type MonitorFile = z.infer<typeof MonitorFile>;
