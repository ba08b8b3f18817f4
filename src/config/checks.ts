/**
 * Pure checks of single setting values, shared by the zod schemas (config file) and the
 * environment reader. Each returns the normalised value or the text of what was expected,
 * never an exception: the loader collects every problem before it stops.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { validateDetailed } from 'node-cron';

export type Check<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly expected: string };

export const HTTPS_EXPECTED = 'expected an https:// URL (http:// only for loopback hosts)';

/** 127.0.0.0/8, ::1 and `localhost`: the only hosts a token may reach over plain http. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') return true;
  if (isIPv4(host)) return host.startsWith('127.');
  return host === '::1' || host === '0:0:0:0:0:0:0:1';
}

/**
 * An endpoint tokens are sent to. `http://` is refused unless the host is loopback: a
 * refresh token or a client secret sent in clear text to another machine is as good as
 * published, and Bitrix24 cannot revoke a client secret.
 */
function checkSecureUrl(raw: string): Check<URL> {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { ok: false, expected: HTTPS_EXPECTED };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, expected: HTTPS_EXPECTED };
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return {
      ok: false,
      expected: `${HTTPS_EXPECTED}: tokens never travel in clear text to another machine`,
    };
  }
  if (url.username !== '' || url.password !== '') {
    return { ok: false, expected: 'expected a URL without user:password in it' };
  }
  if (url.search !== '' || url.hash !== '') {
    return { ok: false, expected: 'expected a URL without ?query or #fragment' };
  }
  return { ok: true, value: url };
}

/** `/rest/<user id>/<webhook code>/`: an inbound webhook, whose path is itself a secret. */
const WEBHOOK_PATH = /\/rest\/\d+\/[^/]+\/?$/;

/** The portal's REST endpoint (`client_endpoint`), normalised to end with `/`. */
export function checkRestUrl(raw: string): Check<string> {
  const checked = checkSecureUrl(raw);
  if (!checked.ok) return checked;
  const url = checked.value;
  if (WEBHOOK_PATH.test(url.pathname)) {
    // Offline events are queued per OAuth application; a webhook cannot read that queue.
    return {
      ok: false,
      expected:
        "expected the OAuth application's client_endpoint (https://<portal>/rest/), not an inbound webhook URL",
    };
  }
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return { ok: true, value: url.href };
}

export function checkOauthUrl(raw: string): Check<string> {
  const checked = checkSecureUrl(raw);
  return checked.ok ? { ok: true, value: checked.value.href } : checked;
}

const cronCache = new Map<string, Check<string>>();

/** A node-cron expression (5 fields, or 6 with seconds first). */
export function checkCron(raw: string): Check<string> {
  const expression = raw.trim();
  const cached = cronCache.get(expression);
  if (cached !== undefined) return cached;
  const detail = validateDetailed(expression);
  const first = detail.errors[0];
  const result: Check<string> = detail.valid
    ? { ok: true, value: expression }
    : {
        ok: false,
        expected: `expected a node-cron expression such as "*/30 * * * * *" (seconds field allowed)${
          first === undefined ? '' : `; ${first.field}: ${first.message}`
        }`,
      };
  cronCache.set(expression, result);
  return result;
}

export interface ListenAddress {
  /** As `server.listen` takes it: an IPv6 address without brackets. */
  readonly host: string;
  readonly port: number;
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export const LISTEN_EXPECTED =
  'expected host:port, e.g. 0.0.0.0:9464, 127.0.0.1:9464 or [::1]:9464, with a port from 0 to 65535';

/** `host:port`, `[ipv6]:port`. */
export function parseListen(raw: string): Check<ListenAddress> {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw.trim());
  if (match === null) return { ok: false, expected: LISTEN_EXPECTED };
  const [, v6, name, portText] = match;
  const port = Number(portText);
  if (port > 65_535) return { ok: false, expected: LISTEN_EXPECTED };
  if (v6 !== undefined) {
    return isIPv6(v6)
      ? { ok: true, value: { host: v6, port } }
      : { ok: false, expected: LISTEN_EXPECTED };
  }
  if (name === undefined || !(isIPv4(name) || HOSTNAME.test(name))) {
    return { ok: false, expected: LISTEN_EXPECTED };
  }
  return { ok: true, value: { host: name, port } };
}

/** A portal name made safe as a file name: `acme.bitrix24.com`, `127.0.0.1_8080`. */
export function fileNameOf(name: string): string {
  const safe = name
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 200);
  return safe === '' ? 'portal' : safe;
}

/** Levenshtein distance, for "did you mean" hints on keys and variable names. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(
        Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The closest candidate, when it is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = candidate.toLowerCase() === word.toLowerCase() ? 0 : distance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 4)) ? best : undefined;
}
