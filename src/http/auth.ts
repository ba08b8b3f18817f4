/** Optional protection of `/metrics` and `/`: a bearer token or basic auth, compared in constant time. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { HttpAuthConfig } from '../config/types.js';

/** What `authorizes` needs from node:crypto, passed in: see there. */
export interface SecretCompare {
  sha256(text: string): Buffer;
  equal(a: Buffer, b: Buffer): boolean;
}

const nodeCrypto: SecretCompare = {
  sha256: (text) => createHash('sha256').update(text).digest(),
  equal: timingSafeEqual,
};

/**
 * True when an `Authorization` header may see protected pages. Self-contained (no imports,
 * crypto passed in) because the metrics worker runs this very function from its source text
 * (metricsWorker.ts), so the two threads cannot disagree on who is let in.
 */
export function authorizes(
  header: string,
  auth: HttpAuthConfig | undefined,
  crypto: SecretCompare,
): boolean {
  if (auth === undefined || (auth.bearerToken === undefined && auth.basic === undefined))
    return true;
  // Hash first so the comparison takes the same time whatever the lengths.
  const same = (given: string, expected: string): boolean =>
    crypto.equal(crypto.sha256(given), crypto.sha256(expected));
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer' && auth.bearerToken !== undefined) return same(value, auth.bearerToken);
  if (scheme === 'basic' && auth.basic !== undefined) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const userOk = same(decoded.slice(0, colon), auth.basic.username);
    const passwordOk = same(decoded.slice(colon + 1), auth.basic.password);
    return userOk && passwordOk;
  }
  return false;
}

/** True when the request may see protected pages. */
export function isAuthorized(request: IncomingMessage, auth: HttpAuthConfig | undefined): boolean {
  return authorizes(request.headers.authorization ?? '', auth, nodeCrypto);
}

export function challenge(auth: HttpAuthConfig | undefined): string {
  return auth?.basic !== undefined
    ? 'Basic realm="b24-offline-monitor", charset="UTF-8"'
    : 'Bearer';
}
