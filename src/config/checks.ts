/**
 * What each kind of setting value must be, as zod types. Every message is the "expected ..."
 * text of a problem line; a value of the wrong type gets the same message as a wrong value.
 */
import { distance } from 'fastest-levenshtein';
import { isIPv4, isIPv6 } from 'node:net';
import { validateDetailed } from 'node-cron';
import { z } from 'zod';

const HTTPS_EXPECTED = 'expected an https:// URL (http:// only for loopback hosts)';
const LISTEN_EXPECTED =
  'expected host:port, e.g. 0.0.0.0:9464, 127.0.0.1:9464 or [::1]:9464, with a port from 0 to 65535';
const TOKEN_STORE_EXPECTED =
  'expected file, or redis://[user:password@]host:port/db (rediss:// for TLS)';
/** Longest delay `setTimeout` takes; a longer one fires at once. */
const MAX_TIMER_MS = 2_147_483_647;
/** Most shards accepted: far beyond any fleet, low enough that a typo is caught. */
const MAX_SHARDS = 1024;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);

/** 127.0.0.0/8, ::1 and `localhost`: the only hosts a token may reach over plain http. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(host)) return host.startsWith('127.');
  return host === 'localhost' || host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/** A portal name made safe as a file name: `acme.bitrix24.com`, `127.0.0.1_8080`. */
export function fileNameOf(name: string): string {
  const safe = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 200);
  return safe === '' ? 'portal' : safe;
}

/** The closest candidate, when it is close enough to be a typo ("did you mean" hints). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = candidate.toLowerCase() === word.toLowerCase() ? 0 : distance(word, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}

/** A wrong value's "expected ..." text. */
class Refused {
  constructor(readonly expected: string) {}
}

/** A trimmed string made into its value by `parse`, or refused. */
function parsed<T>(typeExpected: string, parse: (value: string) => T | Refused) {
  return z
    .string({ error: typeExpected })
    .trim()
    .transform((value, ctx) => {
      const result = parse(value);
      if (!(result instanceof Refused)) return result;
      ctx.addIssue({ code: 'custom', message: result.expected });
      return z.NEVER;
    });
}

/**
 * An endpoint tokens are sent to. `http://` only to a loopback host: a refresh token or a
 * client secret sent in clear text to another machine is as good as published, and
 * Bitrix24 cannot revoke a client secret.
 */
function secureUrl(value: string): URL | Refused {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol !== 'https:' && url?.protocol !== 'http:') return new Refused(HTTPS_EXPECTED);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname))
    return new Refused(`${HTTPS_EXPECTED}: tokens never travel in clear text to another machine`);
  if (url.username !== '' || url.password !== '')
    return new Refused('expected a URL without user:password in it');
  if (url.search !== '' || url.hash !== '')
    return new Refused('expected a URL without ?query or #fragment');
  return url;
}

/** The portal's REST endpoint (`client_endpoint`), normalised to end with `/`. */
export const RestUrl = parsed(HTTPS_EXPECTED, (value) => {
  const url = secureUrl(value);
  if (!(url instanceof URL)) return url;
  // `/rest/<user id>/<code>/` is an inbound webhook, whose path is itself a secret; offline
  // events are queued per OAuth application, and a webhook cannot read that queue.
  if (/\/rest\/\d+\/[^/]+\/?$/.test(url.pathname))
    return new Refused(
      `expected the OAuth application's client_endpoint (https://<portal>/rest/), not an inbound webhook URL`,
    );
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url.href;
});
export const OauthUrl = parsed(HTTPS_EXPECTED, (value) => {
  const url = secureUrl(value);
  return url instanceof URL ? url.href : url;
});

/** The problem of each cron expression seen (undefined: none): 1,000 portals share one schedule. */
const cronProblems = new Map<string, string | undefined>();

/** A node-cron expression (5 fields, or 6 with seconds first). */
export const Schedule = parsed(
  'expected a node-cron expression such as "*/30 * * * * *"',
  (cron) => {
    if (!cronProblems.has(cron)) {
      const { valid, errors } = validateDetailed(cron);
      const why = errors[0] === undefined ? '' : `; ${errors[0].field}: ${errors[0].message}`;
      const expected = `expected a node-cron expression such as "*/30 * * * * *" (seconds field allowed)${why}`;
      cronProblems.set(cron, valid ? undefined : expected);
    }
    const problem = cronProblems.get(cron);
    return problem === undefined ? cron : new Refused(problem);
  },
);

/** `host:port`, `[ipv6]:port`; the host as `server.listen` takes it (IPv6 without brackets). */
export const Listen = parsed(LISTEN_EXPECTED, (value) => {
  const [match, v6, name, port] = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value) ?? [];
  const host = v6 ?? name ?? '';
  const valid = v6 === undefined ? isIPv4(host) || HOSTNAME.test(host) : isIPv6(host);
  if (match === undefined || Number(port) > 65_535 || !valid) return new Refused(LISTEN_EXPECTED);
  return { host, port: Number(port) };
});

function text(expected: string, max = 500) {
  const error = { error: expected };
  return z
    .string(error)
    .trim()
    .min(1, error)
    .max(max, error)
    .refine((value) => !CONTROL.test(value), error);
}

function count(expected: string, max = Number.MAX_SAFE_INTEGER) {
  const error = { error: expected };
  return z.number(error).int(error).min(1, error).max(max, error);
}

/** A positive whole number of `unit`s. */
export const whole = (unit: string) => count(`expected a positive whole number of ${unit}`);

function share(expected: string, max: number) {
  const error = { error: expected };
  return z.number(error).positive(error).max(max, error);
}

function oneOf<const T extends readonly [string, ...string[]]>(...values: T) {
  const error = { error: `expected one of ${values.join(', ')}` };
  return z.string(error).trim().toLowerCase().pipe(z.enum(values, error));
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
export const Strategy = oneOf('scan', 'count', 'auto');
export const Level = oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent');
export const Milliseconds = count(
  `expected a positive whole number of milliseconds, at most ${MAX_TIMER_MS}`,
  MAX_TIMER_MS,
);
export const DbTimeShare = share('expected a share of wall time between 0 and 1, e.g. 0.05', 1);
export const PerSecond = share(
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

/** `file`, or a redis:// / rediss:// URL with an optional database number as its path. */
export const TokenStore = parsed(TOKEN_STORE_EXPECTED, (value) => {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  const redis = (url?.protocol === 'redis:' || url?.protocol === 'rediss:') && url.hostname !== '';
  if (value === 'file' || (redis && /^\/?(\d{1,2})?$/.test(url.pathname))) return value;
  return new Refused(TOKEN_STORE_EXPECTED);
});
