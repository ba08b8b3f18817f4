/**
 * The zod type of each kind of setting value. Every message is the "expected ..." text of a
 * problem line; a value of the wrong type gets the same message as a wrong value.
 */
import { z } from 'zod';

import type { Check } from './checks.js';
import { HTTPS_EXPECTED, LISTEN_EXPECTED, checkCron, checkOauthUrl } from './checks.js';
import { checkRestUrl, parseListen } from './checks.js';

/** Longest delay `setTimeout` takes; a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;
/** Most shards accepted: far beyond any fleet, low enough that a typo is caught. */
const MAX_SHARDS = 1024;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A string setting with its own check. */
function checked<T>(check: (raw: string) => Check<T>, typeExpected: string) {
  return z.string({ error: typeExpected }).transform((raw, ctx) => {
    const result = check(raw);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.expected });
    return z.NEVER;
  });
}

export function text(expected: string, max = 500) {
  return z
    .string({ error: expected })
    .trim()
    .min(1, { error: expected })
    .max(max, { error: expected })
    .refine((value) => !CONTROL.test(value), { error: expected });
}

function count(expected: string, min = 1, max = Number.MAX_SAFE_INTEGER) {
  const error = { error: expected };
  return z.number(error).int(error).min(min, error).max(max, error);
}

function decimal(expected: string, max: number) {
  return z.number({ error: expected }).positive({ error: expected }).max(max, { error: expected });
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

export const FilePath = text('expected a file path');
export const PortalName = text(
  'expected a non-empty name without control characters, at most 200 characters',
  200,
);
export const ClientId = text(
  'expected the client_id of the OAuth application, e.g. app.5f3c1e2a4b6d7.12345678',
);
export const RestUrl = checked(checkRestUrl, HTTPS_EXPECTED);
export const OauthUrl = checked(checkOauthUrl, HTTPS_EXPECTED);
export const Schedule = checked(
  checkCron,
  'expected a node-cron expression such as "*/30 * * * * *"',
);
export const Listen = checked(parseListen, LISTEN_EXPECTED);
export const Strategy = oneOf(['scan', 'count', 'auto']);
export const Level = oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
export const Milliseconds = count(
  `expected a positive whole number of milliseconds, at most ${MAX_TIMER_MS}`,
  1,
  MAX_TIMER_MS,
);
export const Rows = count('expected a positive whole number of rows');
export const Names = count('expected a positive whole number of event names');
export const Requests = count('expected a positive whole number of requests');
export const Polls = count('expected a positive whole number of polls');
export const DbTimeShare = decimal('expected a share of wall time between 0 and 1, e.g. 0.05', 1);
export const PerSecond = decimal(
  'expected a positive number of requests per second, at most 1000',
  1000,
);
export const AuthConnector = text('expected a non-empty auth_connector name');
// RFC 7617: the user-id cannot contain a colon.
export const UserName = text('expected a non-empty user name without ":"', 200).refine(
  (value) => !value.includes(':'),
  { error: 'expected a non-empty user name without ":"' },
);

export const Shards = count(
  `expected a whole number of shards from 1 to ${MAX_SHARDS}`,
  1,
  MAX_SHARDS,
);

/** A number, digits (the environment gives text), or `auto`. */
export const Shard = z.union(
  [
    z.number().int().min(0),
    z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^(auto|\d{1,9})$/)
      .transform((value) => (value === 'auto' ? ('auto' as const) : Number(value))),
  ],
  { error: 'expected a 0-based shard number, or auto (the trailing number of the host name)' },
);

export const TOKEN_STORE_EXPECTED =
  'expected file, or redis://[user:password@]host:port/db (rediss:// for TLS)';

/** `file`, or a redis:// / rediss:// URL with an optional database number as its path. */
export const TokenStore = z.string({ error: TOKEN_STORE_EXPECTED }).refine((value) => {
  const trimmed = value.trim();
  if (trimmed === 'file') return true;
  try {
    const url = new URL(trimmed);
    return (
      (url.protocol === 'redis:' || url.protocol === 'rediss:') &&
      url.hostname !== '' &&
      /^\/?(\d{1,2})?$/.test(url.pathname)
    );
  } catch {
    return false;
  }
}, TOKEN_STORE_EXPECTED);
